namespace Uld.Tests.Support;

/// <summary>Where a program the tests run from outside .NET (kubectl, node) is installed: the first PATH entry holding it.</summary>
public static class ExecutableSearch
{
    public static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => System.IO.Path.Combine(dir, name))
        .FirstOrDefault(File.Exists);
}
