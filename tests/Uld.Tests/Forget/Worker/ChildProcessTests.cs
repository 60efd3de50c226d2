using System.Diagnostics;
using Uld.Forget.Worker;
using Uld.Tests.Support;

namespace Uld.Tests.Forget.Worker;

/// <summary>
/// How the service runs uld-trainer and uld-eval: a child's own error line is what a failed request reports, stopping
/// the service kills the child, and a child left behind by a killed service is stopped only if it is still the one.
/// </summary>
public sealed class ChildProcessTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_failing_cli_reports_its_own_error_line_and_everything_goes_to_the_log()
    {
        var log = _temp["trainer.log"];
        var exit = await ChildProcess.RunAsync(("dotnet", [AppBuilds.Trainer]), ["unlearn", "--method", "no-such-method", "--base", RepositoryModels.Target, "--forget-file", "/nonexistent.jsonl", "-o", _temp["out"]],
            log, started: null, onLine: null, CancellationToken.None);
        Assert.Equal(2, exit.ExitCode);
        Assert.StartsWith("error:", exit.Reason);
        Assert.Contains("no-such-method", exit.Reason);
        var lines = File.ReadAllLines(log);
        Assert.StartsWith("$ dotnet ", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_command_line_parse_error_reports_what_the_child_wrote_to_stderr_not_the_usage_text()
    {
        // uld-eval prints its usage on stdout (ending with a blank line) and the reasons on stderr.
        var exit = await ChildProcess.RunAsync(("dotnet", [AppBuilds.Eval]), ["corpus", "-m", "x", "--forget", "/nonexistent-forget.jsonl", "--retain", "/nonexistent-retain.jsonl"],
            _temp["eval.log"], started: null, onLine: null, CancellationToken.None);
        Assert.NotEqual(0, exit.ExitCode);
        Assert.Contains("/nonexistent-forget.jsonl", exit.Reason);
        Assert.Contains("--output", exit.Reason);
        Assert.DoesNotContain("Usage", exit.Reason);
    }

    [Fact]
    public async Task Cancelling_kills_the_child_and_a_leftover_is_stopped_only_while_it_is_still_the_one()
    {
        using var cancel = new CancellationTokenSource();
        var pid = 0;
        var run = ChildProcess.RunAsync(("sh", ["-c"]), ["sleep 300; echo request-fr-1"], _temp["a.log"], started: p => pid = p, onLine: null, cancel.Token);
        await Task.Delay(300);
        Assert.True(pid > 0 && File.Exists($"/proc/{pid}/cmdline"));
        var clock = Stopwatch.StartNew();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
        Assert.False(File.Exists($"/proc/{pid}/cmdline"));

        // A process the previous service left: stopped when its command line still names the request, else left alone.
        using var leftover = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 300; echo request-fr-2"]))!;
        Assert.False(ChildProcess.StopLeftover(leftover.Id, "request-fr-3"));
        Assert.False(leftover.HasExited);
        Assert.True(ChildProcess.StopLeftover(leftover.Id, "request-fr-2"));
        Assert.True(leftover.HasExited);
        Assert.False(ChildProcess.StopLeftover(leftover.Id, "request-fr-2")); // gone: nothing to stop
    }
}
