using System.Diagnostics;
using Uld.Forget;
using Uld.Gateway;
using Uld.LogitServer;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.Web;

/// <summary>
/// The servers' <c>--help</c>: each app's own Release build, run as an operator runs it, prints its usage — what it
/// is, <c>--config</c>, <c>--urls</c>, the <c>health</c> command, its configuration sections and the docs that describe
/// them — and exits 0 at once, without starting a server (which, with no configuration, would fail with exit code 2 or
/// keep listening).
/// </summary>
public sealed class ServerUsageTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30); // a busy 2-core machine; help itself takes well under 1 s

    public static TheoryData<string, string> Servers => new()
    {
        { "uld-logitserver", "--help" },
        { "uld-gateway", "-h" },
        { "uld-forget", "--help" },
        { "uld-logitserver", "-?" },
    };

    private static (string Dll, ServerUsage Usage) App(string executable) => executable switch
    {
        "uld-logitserver" => (AppBuilds.LogitServer, LogitServerUsage.Help),
        "uld-gateway" => (AppBuilds.Gateway, GatewayUsage.Help),
        "uld-forget" => (AppBuilds.Forget, ForgetUsage.Help),
        _ => throw new ArgumentOutOfRangeException(nameof(executable)),
    };

    private static async Task<(int Exit, string Out, string Err, TimeSpan Elapsed)> RunAsync(string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in new[] { "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_HTTP_PORTS" }) start.Environment.Remove(name);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Limit);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(dll)} {string.Join(' ', args)} still ran after {Limit.TotalSeconds:0} s: it started a server. Output: {await stdout}{await stderr}");
        }
        return (process.ExitCode, (await stdout).Replace("\r", "", StringComparison.Ordinal), await stderr, clock.Elapsed);
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Help_prints_the_usage_and_exits_0_without_starting_the_server(string executable, string flag)
    {
        var (dll, usage) = App(executable);
        var port = LoopbackPort.Free();
        var (exit, output, error, _) = await RunAsync(dll, "--urls", $"http://127.0.0.1:{port}", flag);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        Assert.Equal("", error);
        Assert.Equal(usage.Text(), output);
        Assert.StartsWith($"Description:\n  {executable}: ", output, StringComparison.Ordinal);
        Assert.Contains($"Usage:\n  {executable} [command] [options]\n", output, StringComparison.Ordinal);
        foreach (var option in new[] { "--config <FILE>", "--urls <URLS>", "--<Section>:<Key>=<value>", "-?, -h, --help" })
            Assert.Contains("\n  " + option + "  ", output, StringComparison.Ordinal);
        Assert.Contains("\nCommands:\n  health  ", output, StringComparison.Ordinal);
        // Every section names the page that documents it; DocsCitationTests checks those sections exist.
        var sections = output[(output.IndexOf("\nConfiguration:\n", StringComparison.Ordinal) + 1)..].Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.Equal(usage.Sections.Select(s => s.Section), sections.Select(l => l.Trim().Split(' ')[0]));
        Assert.Contains(sections, l => l.Contains("docs/", StringComparison.Ordinal));
        // Nothing listens on the port the arguments named.
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync($"http://127.0.0.1:{port}/health"));
    }

    [Theory]
    [InlineData("uld-logitserver")]
    [InlineData("uld-gateway")]
    [InlineData("uld-forget")]
    public async Task Health_help_describes_the_probe_and_probes_nothing(string executable)
    {
        var (dll, usage) = App(executable);
        // Nothing listens on this port: had the probe run, it would exit 1 "unhealthy".
        var (exit, output, error, _) = await RunAsync(dll, "health", "--help", "--url", $"http://127.0.0.1:{LoopbackPort.Free()}");
        Assert.True(exit == 0, $"exit {exit}: {error}");
        Assert.Equal(usage.HealthText(), output);
        Assert.Contains($"Usage:\n  {executable} health [options]\n", output, StringComparison.Ordinal);
        Assert.Contains("\n  --urls <URLS>  ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("uld-logitserver")]
    [InlineData("uld-gateway")]
    [InlineData("uld-forget")]
    public async Task Health_is_a_command_of_every_server(string executable)
    {
        var (dll, _) = App(executable);
        var closed = LoopbackPort.Free();
        var (exit, output, error, _) = await RunAsync(dll, "health", "--url", $"http://127.0.0.1:{closed}");
        Assert.Equal(HealthCommand.Unhealthy, exit);
        Assert.Equal("", output);
        Assert.StartsWith($"unhealthy: http://127.0.0.1:{closed}/health did not answer", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--urls", "http://127.0.0.1:8081", "--config", "models/deployments.json")]
    [InlineData("--LogitServer:Deployments:0:Name=--help")]
    [InlineData("--helpful")]
    [InlineData("health", "--url", "http://127.0.0.1:8081")]
    public void Arguments_without_a_help_flag_start_the_server(params string[] args)
    {
        using var output = new StringWriter();
        Assert.Null(LogitServerUsage.Help.TryPrint(args, output));
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void The_second_column_lines_up_two_spaces_past_the_longest_first_one()
    {
        var usage = new ServerUsage("uld-x", "uld-x: a server.", [("--a", "short")], [("S", "section S: docs/SERVING.md")]);
        var options = usage.Text().Split('\n').SkipWhile(l => l != "Options:").Skip(1).TakeWhile(l => l.Length > 0).ToList();
        // "--<Section>:<Key>=<value>" (25 characters) is the longest; every description starts 2 + 25 + 2 = 29 in.
        Assert.Equal(5, options.Count);
        Assert.All(options, l => Assert.True(l.Length > 29 && l[28] == ' ' && l[29] != ' ', $"'{l}'"));
        Assert.Equal("  --a                        short", options[2]);
    }
}
