using System.Globalization;
using System.Text.RegularExpressions;
using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Bench;

/// <summary>
/// llama2.c's <c>run.c</c> (bench/reference/llama2c, MIT) on a llama2.c checkpoint: the outside reference for
/// single-stream decode. Compiled once per benchmark run; run greedily with OpenMP on a given number of threads.
/// </summary>
public sealed partial class Llama2cReference : IDisposable
{
    private readonly string _binary;
    private readonly string _checkpoint;
    private readonly string _tokenizer;

    private Llama2cReference(string binary, string checkpoint, string tokenizer) => (_binary, _checkpoint, _tokenizer) = (binary, checkpoint, tokenizer);

    public static Llama2cReference Build(string checkpoint, string tokenizer)
    {
        var source = FindSource();
        foreach (var file in new[] { checkpoint, tokenizer })
            if (!File.Exists(file)) throw new UserErrorException($"llama2.c reference: {file} does not exist.");
        var binary = Path.Combine(Path.GetTempPath(), $"uld-bench-llama2c-{Environment.ProcessId}");
        var (exit, _, stderr) = Run("gcc", ["-O3", "-march=native", "-fopenmp", "-o", binary, source, "-lm"], threads: null);
        if (exit != 0) throw new UserErrorException($"llama2.c reference: gcc failed (exit {exit}): {stderr.Trim().Split('\n').LastOrDefault()}");
        return new Llama2cReference(binary, checkpoint, tokenizer);
    }

    /// <summary>Decode tokens per second as run.c reports it (timed from the second token, like its own "achieved tok/s").</summary>
    public double TokensPerSecond(string prompt, int steps, int threads)
    {
        var (exit, _, stderr) = Run(_binary, [_checkpoint, "-z", _tokenizer, "-t", "0", "-n", steps.ToString(CultureInfo.InvariantCulture), "-i", prompt], threads);
        var match = AchievedPattern().Match(stderr);
        if (exit != 0 || !match.Success) throw new UserErrorException($"llama2.c reference failed (exit {exit}): {stderr.Trim().Split('\n').LastOrDefault()}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    public void Dispose() => File.Delete(_binary);

    public string Description(int threads) => $"llama2.c run.c (gcc -O3 -march=native -fopenmp, OMP_NUM_THREADS={threads}) on {Path.GetFileName(_checkpoint)}";

    private static string FindSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "bench", "reference", "llama2c", "run.c");
            if (File.Exists(candidate)) return candidate;
        }
        var local = Path.GetFullPath(Path.Combine("bench", "reference", "llama2c", "run.c"));
        return File.Exists(local) ? local : throw new UserErrorException("llama2.c reference: bench/reference/llama2c/run.c not found (run from the repository).");
    }

    private static (int Exit, string Stdout, string Stderr) Run(string file, IReadOnlyList<string> args, int? threads)
    {
        var environment = threads is { } t ? new Dictionary<string, string> { ["OMP_NUM_THREADS"] = t.ToString(CultureInfo.InvariantCulture) } : null;
        try
        {
            var output = ChildCommand.Execute(file, args, environment);
            return (output.ExitCode, output.Stdout, output.Stderr);
        }
        catch (UserErrorException e)
        {
            throw new UserErrorException($"llama2.c reference: {e.Message}");
        }
    }

    [GeneratedRegex(@"achieved tok/s: ([0-9.]+)")]
    private static partial Regex AchievedPattern();
}
