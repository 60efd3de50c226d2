using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Uld.Tests.Support;

/// <summary>
/// An ASP.NET app run as its own process from its Release build, on a free loopback port (read from the host's "Now
/// listening on" line), configured by <c>--Section:Key=value</c> arguments. <see cref="Kill"/> ends the process alone,
/// as a crash or an OOM kill would — its own children live on.
/// </summary>
public sealed partial class ChildService : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ChildService(Process process, Uri address) => (_process, Address) = (process, address);

    public Uri Address { get; }

    public string Output
    {
        get
        {
            lock (_output) return string.Join(Environment.NewLine, _output);
        }
    }

    public static async Task<ChildService> StartAsync(string dll, IReadOnlyDictionary<string, string?> settings)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls=http://127.0.0.1:0");
        foreach (var (key, value) in settings) start.ArgumentList.Add($"--{key}={value}");
        start.Environment["NO_COLOR"] = "1";
        start.Environment["DOTNET_CONSOLE_ANSI_COLOR"] = "false";
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (lines) lines.Add(line);
            if (Listening().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(1)));
        if (first != listening.Task)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            lock (lines) throw new InvalidOperationException($"{Path.GetFileName(dll)} did not start: {string.Join(Environment.NewLine, lines)}");
        }
        var service = new ChildService(process, await listening.Task);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (service._output) service._output.Add(e.Data); };
        return service;
    }

    /// <summary>SIGKILL to this process only: no shutdown, no cleanup, children orphaned.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex Listening();
}
