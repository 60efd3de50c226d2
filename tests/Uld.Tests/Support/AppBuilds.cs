namespace Uld.Tests.Support;

/// <summary>
/// The apps' own Release builds, for tests that run an app as a child process the way an operator would (each from its
/// own output folder, where its native libraries and patches live) rather than in the test process.
/// </summary>
public static class AppBuilds
{
    public static string Trainer => Dll("Trainer", "uld-trainer");
    public static string Eval => Dll("Eval", "uld-eval");
    public static string Forget => Dll("Forget", "uld-forget");
    public static string Bench => Dll("Bench", "uld-bench");
    public static string LogitServer => Dll("LogitServer", "uld-logitserver");
    public static string Gateway => Dll("Gateway", "uld-gateway");

    private static string Dll(string folder, string name) =>
        SharedPaths.Require(Path.Combine(SharedPaths.RepositoryRoot, "src", "apps", folder, "bin", "Release", "net10.0", name + ".dll"));
}
