using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Uld.Contracts;

namespace Uld.Bench.Processes;

/// <summary>Wall time and peak resident memory of one child process.</summary>
public readonly record struct ChildRun(double Seconds, long PeakBytes);

/// <summary>What a finished child process printed, and how it ended.</summary>
public sealed partial record ChildOutput(int ExitCode, string Stdout, string Stderr, double Seconds)
{
    /// <summary>What a failure message quotes: see <see cref="ChildOutput.Reason(string)"/>.</summary>
    public string LastLine => Reason(Stderr.Trim().Length > 0 ? Stderr : Stdout);

    /// <summary>
    /// The app's own "error:" message to its end (the apps print one; the console wraps it at 80 columns when
    /// redirected, so it is joined back into one line), else the last line that is not a progress bar (bars redraw
    /// themselves with carriage returns, so a run that died mid-training would otherwise quote an empty line).
    /// </summary>
    public static string Reason(string output)
    {
        var text = output.Trim();
        var error = text.LastIndexOf("error:", StringComparison.Ordinal);
        if (error >= 0) return string.Join(' ', text[error..].Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));
        return text.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault(line => !ProgressLine().IsMatch(line)) ?? "";
    }

    /// <summary>A Spectre.Console progress line as redirected output shows it: "description: 42%".</summary>
    [GeneratedRegex(@"^[^\n]*: \d{1,3}%$")]
    private static partial Regex ProgressLine();
}

/// <summary>Runs a CLI app (e.g. uld-trainer, node, gcc) to completion as a child process, so its peak memory is its own.</summary>
public static class ChildCommand
{
    /// <summary>How often the child's VmHWM is read: the kernel keeps the peak, so only the last interval before exit can be missed.</summary>
    private static readonly TimeSpan PeakPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>Runs <c>dotnet DLL ARGS</c>; a non-zero exit fails with the child's last output line.</summary>
    public static ChildRun Run(string dll, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start dotnet {dll}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(PeakPoll)) peak = Math.Max(peak, ProcessMemory.PeakBytes(process.Id) ?? 0);
        var seconds = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            var last = new ChildOutput(process.ExitCode, stdout.Result, stderr.Result, seconds).LastLine;
            throw new UserErrorException($"{Path.GetFileNameWithoutExtension(dll)} {string.Join(' ', args.Take(3))} failed (exit {process.ExitCode}): {last}");
        }
        return new ChildRun(seconds, peak);
    }

    /// <summary>
    /// Runs <paramref name="file"/> (looked up on PATH) with <paramref name="args"/> and returns its output whatever its
    /// exit code; the caller judges it. A program that cannot be started, or one still running after
    /// <paramref name="timeout"/> (then killed with its children), is a <see cref="UserErrorException"/>.
    /// </summary>
    public static ChildOutput Execute(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        start.Environment["NO_COLOR"] = "1";
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new UserErrorException($"could not start {file}.");
        }
        catch (Win32Exception e)
        {
            // ENOENT: the usual case, a program that is not installed; its message names the working directory instead.
            throw new UserErrorException(e.NativeErrorCode == 2 ? $"{file} is not on PATH." : $"cannot run {file}: {e.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? Timeout.InfiniteTimeSpan))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new UserErrorException($"{Path.GetFileName(file)} {string.Join(' ', args.Take(2).Select(Path.GetFileName))} did not finish within " +
                                             $"{timeout!.Value.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s and was stopped.");
            }
            process.WaitForExit(); // the redirected streams are complete only after the parameterless wait
            return new ChildOutput(process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed.TotalSeconds);
        }
    }
}
