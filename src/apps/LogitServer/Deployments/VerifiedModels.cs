using Uld.Contracts.Models;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// Opens model directories for the deployments, checking every file against the sha256 its manifest lists (unless
/// <see cref="LogitServerOptions.SkipHashCheck"/>), and hashes ONNX files that no manifest lists.
/// </summary>
public sealed class VerifiedModels(bool verifyHashes)
{
    /// <summary>The model directory at <paramref name="path"/>, verified; a directory that is not one is a <see cref="ModelFormatException"/>.</summary>
    public ModelDirectory Open(string path) => ModelDirectory.Open(path, verifyHashes);

    /// <summary>
    /// The sha256 of a directory's ONNX file: the manifest's, which opening the directory checked against the file
    /// (unless hashes are not checked, when it is the recorded one); hashed here if the manifest lists none.
    /// </summary>
    public string OnnxSha256(ModelDirectory dir) =>
        dir.Manifest.Files.GetValueOrDefault(ModelDirectory.OnnxFile)?.ToLowerInvariant() ?? FileSha256(dir.OnnxPath);

    /// <summary>The sha256 of a file outside a model directory (a fused graph).</summary>
    public string FileSha256(string path) => FileHash.Sha256(path);
}
