using Uld.Contracts;

namespace Uld.Cli;

/// <summary>
/// Finds the built entry assembly of another app (uld-logitserver, uld-gateway, uld-trainer, uld-eval). Apps run each
/// other as child processes rather than referencing them (the benchmarks, the forget-request service), so the dll is
/// looked up: beside the running app's own output (a publish of everything into one folder), then in the app's Release
/// build output of this repository.
/// </summary>
public static class AppLocator
{
    /// <summary>The default path for an app's dll: the first that exists, or the repository build path to name in errors.</summary>
    public static FileInfo Default(string appFolder, string executable)
    {
        var beside = Path.Combine(AppContext.BaseDirectory, executable + ".dll");
        if (File.Exists(beside)) return new FileInfo(beside);
        var root = RepositoryRoot() ?? Directory.GetCurrentDirectory();
        return new FileInfo(Path.Combine(root, "src", "apps", appFolder, "bin", "Release", "net10.0", executable + ".dll"));
    }

    /// <summary>The dll, or a user error saying how to build it.</summary>
    public static string Require(FileInfo dll, string appFolder) => dll.Exists
        ? dll.FullName
        : throw new UserErrorException($"{dll.FullName} does not exist; build it first (dotnet build src/apps/{appFolder} -c Release) or point the option at it.");

    private static string? RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "UldServer.sln"))) return dir.FullName;
            }
        }
        return null;
    }
}
