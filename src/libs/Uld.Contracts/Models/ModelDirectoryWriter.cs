namespace Uld.Contracts.Models;

/// <summary>
/// Writes a model directory atomically: everything goes into a hidden sibling staging directory, and only
/// <see cref="Commit"/> hashes the files, writes the manifest and renames the staging directory into place.
/// Disposing without committing deletes the staging directory, so a failed run leaves no partial output.
/// </summary>
public sealed class ModelDirectoryWriter : IDisposable
{
    private bool _committed;

    public string FinalPath { get; }
    /// <summary>The staging directory to write files into.</summary>
    public string Path { get; }

    public ModelDirectoryWriter(string finalPath, bool overwrite)
    {
        FinalPath = System.IO.Path.GetFullPath(finalPath.TrimEnd('/', '\\'));
        if (!overwrite && (Directory.Exists(FinalPath) || File.Exists(FinalPath)))
            throw new UserErrorException($"output {FinalPath} already exists (pass --force to replace it).");
        var parent = System.IO.Path.GetDirectoryName(FinalPath)!;
        Directory.CreateDirectory(parent);
        // Same parent directory, so the final rename stays on one file system and is atomic.
        Path = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(FinalPath)}.staging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string PathOf(string relative)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return full;
    }

    /// <summary>Hashes the staged files into <paramref name="manifest"/>, writes it and moves the directory into place.</summary>
    public ModelManifest Commit(ModelManifest manifest)
    {
        if (_committed) throw new InvalidOperationException("already committed.");
        var complete = manifest with { Files = ModelDirectory.HashFiles(Path) };
        complete.Save(System.IO.Path.Combine(Path, ModelManifest.FileName));

        string? displaced = null;
        if (Directory.Exists(FinalPath))
        {
            displaced = FinalPath + $".old-{Guid.NewGuid():N}";
            Directory.Move(FinalPath, displaced);
        }
        Directory.Move(Path, FinalPath);
        _committed = true;
        if (displaced is not null) Directory.Delete(displaced, recursive: true);
        return complete;
    }

    public void Dispose()
    {
        if (!_committed && Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
