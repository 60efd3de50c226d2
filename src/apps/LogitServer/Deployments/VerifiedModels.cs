using System.Diagnostics;
using Uld.Contracts.Models;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// Opens model directories for the deployments and verifies each once per process: every file against the sha256 its
/// manifest lists (unless <see cref="LogitServerOptions.SkipHashCheck"/>). Hashing is most of a large model's start-up
/// (minutes at 5 GB), and a base shared by a plain, a ULD and an offset deployment — or put again through the admin
/// API — is the same files. A directory is verified again when any of its files (or its manifest) has changed size
/// or modification time since, so a model rewritten in place is checked as a new one; each verification is logged
/// with its time.
/// </summary>
public sealed class VerifiedModels(bool verifyHashes, ILogger logger)
{
    /// <summary>The size and modification time of each file a verification covered, in a fixed order.</summary>
    private sealed record Stamp(IReadOnlyList<(string Path, long Length, long WriteTicks)> Files)
    {
        public static Stamp Of(IEnumerable<string> paths) => new(paths.Select(p =>
        {
            var info = new FileInfo(p);
            return info.Exists ? (p, info.Length, info.LastWriteTimeUtc.Ticks) : (p, -1L, 0L);
        }).ToList());

        public bool Matches(Stamp other) => Files.SequenceEqual(other.Files);
    }

    private readonly Dictionary<string, (Stamp Stamp, ModelDirectory Directory)> _directories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Stamp Stamp, string Sha256)> _files = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _verifications;

    /// <summary>Verifications (every file of a directory hashed) run since the process started, passed or not: once per directory, unless one changed on disk.</summary>
    public int Verifications => Volatile.Read(ref _verifications);

    /// <summary>The model directory at <paramref name="path"/>, verified; a directory that is not one, or whose files do not match its manifest, is a <see cref="ModelFormatException"/>.</summary>
    public ModelDirectory Open(string path)
    {
        if (!verifyHashes) return ModelDirectory.Open(path, verifyHashes: false);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        lock (_lock)
        {
            // Read the manifest first: the stamp covers exactly the files it lists.
            var unverified = ModelDirectory.Open(root, verifyHashes: false);
            var stamp = StampOf(unverified);
            if (_directories.TryGetValue(root, out var known) && known.Stamp.Matches(stamp)) return known.Directory;

            var started = Stopwatch.GetTimestamp();
            _verifications++;
            ModelDirectory.VerifyHashes(unverified.Root, unverified.Manifest);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var bytes = stamp.Files.Sum(f => Math.Max(0, f.Length));
            logger.LogInformation("Model directory {ModelDirectory} verified: {Files} files, {MiB:F1} MiB hashed in {VerifySeconds:F2} s",
                unverified.Root, unverified.Manifest.Files.Count, bytes / (1024.0 * 1024.0), seconds);
            _directories[root] = (stamp, unverified);
            return unverified;
        }
    }

    /// <summary>
    /// The sha256 of a directory's ONNX file: the manifest's, which opening the directory checked against the file
    /// (unless hashes are not checked, when it is the recorded one); hashed here if the manifest lists none.
    /// </summary>
    public string OnnxSha256(ModelDirectory dir) =>
        dir.Manifest.Files.GetValueOrDefault(ModelDirectory.OnnxFile)?.ToLowerInvariant() ?? FileSha256(dir.OnnxPath);

    /// <summary>The sha256 of a file outside a model directory (a fused graph), hashed once while it is unchanged.</summary>
    public string FileSha256(string path)
    {
        var full = Path.GetFullPath(path);
        lock (_lock)
        {
            var stamp = Stamp.Of([full]);
            if (_files.TryGetValue(full, out var known) && known.Stamp.Matches(stamp)) return known.Sha256;
            var started = Stopwatch.GetTimestamp();
            var sha256 = FileHash.Sha256(full);
            logger.LogInformation("Model file {ModelFile} hashed: {MiB:F1} MiB in {VerifySeconds:F2} s", full, stamp.Files[0].Length / (1024.0 * 1024.0),
                Stopwatch.GetElapsedTime(started).TotalSeconds);
            _files[full] = (stamp, sha256);
            return sha256;
        }
    }

    private static Stamp StampOf(ModelDirectory dir) =>
        Stamp.Of(dir.Manifest.Files.Keys.Order(StringComparer.Ordinal).Select(dir.PathOf).Prepend(dir.PathOf(ModelManifest.FileName)));
}
