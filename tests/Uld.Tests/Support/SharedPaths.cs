namespace Uld.Tests.Support;

/// <summary>
/// Locates ../shared (data and pretrained models used in place) from the repository root. A missing ../shared is
/// a loud failure, never a silent skip.
/// </summary>
public static class SharedPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Shared
    {
        get
        {
            var shared = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
            if (!Directory.Exists(shared))
                throw new DirectoryNotFoundException($"the shared data directory {shared} is missing; these tests need ../shared beside the repository.");
            return shared;
        }
    }

    public static string Stories260KCheckpoint => Require(Path.Combine(Shared, "models", "stories260K", "stories260K.bin"));
    public static string Stories260KTokenizer => Require(Path.Combine(Shared, "models", "stories260K", "tok512.bin"));

    public static string Require(string path) =>
        File.Exists(path) || Directory.Exists(path) ? path : throw new FileNotFoundException($"required shared file {path} is missing.", path);

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UldServer.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no UldServer.sln above {AppContext.BaseDirectory}.");
    }
}
