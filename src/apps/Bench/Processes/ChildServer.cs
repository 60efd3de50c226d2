using System.Diagnostics;
using System.Text.RegularExpressions;
using Uld.Contracts;

namespace Uld.Bench.Processes;

/// <summary>
/// An ASP.NET app (uld-logitserver or uld-gateway) started as a child process on a free loopback port, configured by
/// command-line settings (<c>--Section:Key=value</c>). Its address is read from the host's "Now listening on" line, so
/// no port is guessed; disposing stops the process.
/// </summary>
public sealed partial class ChildServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly Process _process;
    private readonly List<string> _output = [];

    private ChildServer(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The server's peak resident memory so far (VmHWM), in bytes; 0 where /proc cannot tell.</summary>
    public long PeakBytes => ProcessMemory.PeakBytes(_process.Id) ?? 0;

    /// <summary>The server's resident memory now (VmRSS), in bytes; 0 where /proc cannot tell.</summary>
    public long CurrentBytes => ProcessMemory.CurrentBytes(_process.Id) ?? 0;

    public static async Task<ChildServer> StartAsync(string dll, IReadOnlyDictionary<string, string> settings)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls=http://127.0.0.1:0");
        // The lifetime log line carries the bound port; request logging would only slow the benchmark down.
        start.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        start.ArgumentList.Add("--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information");
        foreach (var (key, value) in settings) start.ArgumentList.Add($"--{key}={value}");
        start.Environment["NO_COLOR"] = "1";
        start.Environment["DOTNET_CONSOLE_ANSI_COLOR"] = "false";

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start dotnet {dll}.");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (lines) lines.Add(line);
            if (ListeningLine().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited, Task.Delay(StartTimeout));
        if (first != listening.Task)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            string tail;
            lock (lines) tail = string.Join(Environment.NewLine, lines.TakeLast(5));
            process.Dispose();
            // The apps answer bad configuration with one "error:" line and exit 2; pass that on as the user's error.
            throw new UserErrorException($"{Path.GetFileNameWithoutExtension(dll)} did not start{(first == exited ? "" : $" within {StartTimeout.TotalSeconds:0} s")}: {tail}");
        }
        var server = new ChildServer(process, await listening.Task);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
