using System.Diagnostics;
using Uld.Cli;
using Uld.Forget.Configuration;

namespace Uld.Forget.Worker;

/// <summary>How a child process ended: its exit code and its last output lines (for the error it reports).</summary>
/// <param name="ErrorLine">The first line the child printed that starts with <c>error</c> (the CLIs' one-line error, or
/// the first line of a defect's report before its stack trace), with the line after it when it is a defect's.</param>
public sealed record ChildExit(int ExitCode, IReadOnlyList<string> LastLines, string? ErrorLine = null, IReadOnlyList<string>? LastErrorLines = null)
{
    /// <summary>
    /// The child's own "error…" line; else what it last wrote to stderr (a command-line parse error prints its reasons
    /// there and the usage text on stdout, which ends with a blank line); else its last non-empty line.
    /// </summary>
    public string Reason => ErrorLine
        ?? (LastErrorLines is { Count: > 0 } errors ? string.Join(" ", errors) : null)
        ?? LastLines.LastOrDefault(l => l.Trim().Length > 0)
        ?? $"exit code {ExitCode}";
}

/// <summary>
/// Runs one of the project's CLIs (uld-trainer, uld-eval) as a child process: every output line goes to a log file and
/// to a callback as it comes; cancelling kills the child's whole process tree, so a stopping service leaves no trainer
/// behind. The command is the configured one, or <c>dotnet</c> with the app's dll (<see cref="AppLocator"/>).
/// </summary>
public static class ChildProcess
{
    private const int KeptLines = 20;
    private const int KeptErrorLines = 3;

    public static (string Command, IReadOnlyList<string> Arguments) Resolve(ProcessOptions options, string appFolder, string executable) =>
        (options.Command ?? "dotnet", options.Arguments ?? (options.Command is null ? [AppLocator.Default(appFolder, executable).FullName] : []));

    public static async Task<ChildExit> RunAsync((string Command, IReadOnlyList<string> Arguments) program, IEnumerable<string> arguments, string logFile,
        Action<int>? started, Action<string>? onLine, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program.Command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in program.Arguments.Concat(arguments)) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        start.Environment["DOTNET_CONSOLE_ANSI_COLOR"] = "false";
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        await using var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var last = new Queue<string>();
        var lastErrors = new Queue<string>();
        var gate = new Lock();
        string? errorLine = null;
        var continueError = false;
        void OnLine(string? line, bool stderr)
        {
            if (line is null) return;
            lock (gate)
            {
                log.WriteLine(line);
                last.Enqueue(line);
                if (last.Count > KeptLines) last.Dequeue();
                if (stderr && line.Trim().Length > 0)
                {
                    lastErrors.Enqueue(line.Trim());
                    if (lastErrors.Count > KeptErrorLines) lastErrors.Dequeue();
                }
                // A defect prints "error (a defect…): " and the exception on the next line; keep both.
                if (continueError) (errorLine, continueError) = ($"{errorLine} {line.Trim()}", false);
                else if (errorLine is null && line.StartsWith("error", StringComparison.Ordinal)) (errorLine, continueError) = (line.Trim(), line.TrimEnd().EndsWith(':'));
            }
            onLine?.Invoke(line);
        }

        await log.WriteLineAsync($"$ {program.Command} {string.Join(' ', start.ArgumentList)}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program.Command}.");
        started?.Invoke(process.Id);
        process.OutputDataReceived += (_, e) => OnLine(e.Data, stderr: false);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, stderr: true);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw;
        }
        // WaitForExitAsync returns once the output streams are drained as well.
        lock (gate) return new ChildExit(process.ExitCode, [.. last], errorLine, [.. lastErrors]);
    }

    /// <summary>
    /// Stops a process a previous run of the service started (it outlives a killed service), if it is still running and
    /// still the one that was started — its command line names <paramref name="marker"/> (a path of the request).
    /// </summary>
    public static bool StopLeftover(int pid, string marker)
    {
        try
        {
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            if (!commandLine.Contains(marker, StringComparison.Ordinal)) return false;
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(30));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            return false; // gone already
        }
    }
}
