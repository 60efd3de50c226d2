using System.Diagnostics;
using Uld.Contracts;

namespace Uld.Bench.Processes;

/// <summary>Runs a CLI app (e.g. uld-trainer) to completion as a child process, so its peak memory is its own.</summary>
public static class ChildCommand
{
    /// <summary>Runs <c>dotnet DLL ARGS</c>; a non-zero exit fails with the child's last output line.</summary>
    public static void Run(string dll, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start dotnet {dll}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var last = (stderr.Result + stdout.Result).Trim().Split('\n').LastOrDefault();
            throw new UserErrorException($"{Path.GetFileNameWithoutExtension(dll)} {string.Join(' ', args.Take(3))} failed (exit {process.ExitCode}): {last}");
        }
    }
}
