namespace Uld.Tests.Support;

/// <summary>
/// Node.js, which the llama.cpp tools (../shared/tools/llamacpp) need. Where it is not installed, the tests that run
/// them are skipped with a message saying so (<see cref="NodeFactAttribute"/>).
/// </summary>
public static class NodeJs
{
    public static string? Path { get; } = ExecutableSearch.OnPath("node");

    public const string MissingMessage = "node is not on PATH, so llama.cpp (../shared/tools/llamacpp) cannot run here; install Node.js ≥ 20 to run these tests.";

    /// <summary>The tools directory in the shared folder (its npm packages are installed on first use).</summary>
    public static string LlamaCppTools => SharedPaths.Require(System.IO.Path.Combine(SharedPaths.Shared, "tools", "llamacpp"));
}

/// <summary>A fact that needs Node.js: skipped, saying why, where it is not installed.</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (NodeJs.Path is null) Skip = NodeJs.MissingMessage;
    }
}

/// <summary>A theory that needs Node.js: skipped, saying why, where it is not installed.</summary>
public sealed class NodeTheoryAttribute : TheoryAttribute
{
    public NodeTheoryAttribute()
    {
        if (NodeJs.Path is null) Skip = NodeJs.MissingMessage;
    }
}
