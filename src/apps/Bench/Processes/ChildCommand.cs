using System.Diagnostics;
using Uld.Contracts;

namespace Uld.Bench.Processes;

/// <summary>Wall time and peak resident memory of one child process.</summary>
public readonly record struct ChildRun(double Seconds, long PeakBytes);

/// <summary>Runs a CLI app (e.g. uld-trainer) to completion as a child process, so its peak memory is its own.</summary>
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
            var last = (stderr.Result + stdout.Result).Trim().Split('\n').LastOrDefault();
            throw new UserErrorException($"{Path.GetFileNameWithoutExtension(dll)} {string.Join(' ', args.Take(3))} failed (exit {process.ExitCode}): {last}");
        }
        return new ChildRun(seconds, peak);
    }
}
