using System.Text.RegularExpressions;
using Uld.Bench.Processes;
using Uld.Tests.Support;

namespace Uld.Tests.Bench;

/// <summary><c>uld-bench long-prompt</c> as an operator runs it (its Release build, real LogitServer children) on stories260K.</summary>
[Trait(Category.Name, Category.Slow)]
public sealed class LongPromptBenchmarkTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ChildOutput Run(params string[] arguments) =>
        ChildCommand.Execute("dotnet", [AppBuilds.Bench, "long-prompt", "--model", Stories260KModels.BaseDirectory, "--streams", "2", "--rounds", "1",
            "--results", _temp["results"], .. arguments], timeout: TimeSpan.FromMinutes(5));

    [Fact]
    public void Writes_one_row_per_share_with_the_streams_gaps_before_and_during_the_prompt()
    {
        var run = Run("--prompt-tokens", "300", "--share", "0", "1");
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        var report = File.ReadAllText(Path.Combine(_temp["results"], "long-prompt.md"));
        Assert.Contains("2 greedy streams decoding, then one prompt of 300 random tokens", report);
        foreach (var share in new[] { "0", "1" })
            Assert.Matches(new Regex($@"^\| {share} \| [0-9.,]+ \| [0-9.,]+ \| [0-9.,]+ \| [0-9.,]+ \| [0-9.,]+ \| [0-9.,]+× \| [0-9.,]+ \| [0-9.,]+ \| [0-9.,]+ \|$", RegexOptions.Multiline), report);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_refused_before_any_server_starts()
    {
        var run = Run("--prompt-tokens", "600");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not fit stories260K", run.Stdout + run.Stderr);
        Assert.False(File.Exists(Path.Combine(_temp["results"], "long-prompt.md")));
    }
}
