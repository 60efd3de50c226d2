using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Uld.Contracts;
using Uld.Inference.Sampling;

namespace Uld.Bench;

/// <summary>
/// <c>uld-bench sampler</c>: what one decode step costs outside the model at a given vocabulary — the ULD rule combining
/// base and assistant logits, and the sampler (greedy; temperature + top-p; top-k + top-p) — against a full sort of the
/// vocabulary (what top-p cost before selection) and against a decode step of the model. Each is timed on the same
/// logits, interleaved, median over the steps.
/// </summary>
public static class SamplerBenchmark
{
    public static int Run(IReadOnlyList<int> vocabularies, int steps, double decodeTokensPerSecond, string resultsDir)
    {
        if (steps <= 0) throw new UserErrorException("--steps must be positive.");
        if (vocabularies.Count == 0 || vocabularies.Any(v => v < 2)) throw new UserErrorException("--vocab takes sizes of at least 2.");
        var stepMs = 1000 / decodeTokensPerSecond;
        var rows = new List<(int Vocabulary, string Work, double Microseconds)>();
        foreach (var vocabulary in vocabularies)
        {
            foreach (var (work, us) in Measure(vocabulary, steps)) rows.Add((vocabulary, work, us));
        }

        var md = new StringBuilder();
        md.AppendLine("# Per-token work outside the model: the ULD rule and the sampler").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`uld-bench sampler --vocab {string.Join(' ', vocabularies)} --steps {steps} --decode-tokens-per-second {decodeTokensPerSecond}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, one thread. Logits drawn from N(0, 2.5²) (a peaked distribution: top-p 0.9 keeps a few hundred tokens at 128K); median of {steps} steps per row, rows interleaved. A decode step of the model is {stepMs:F1} ms ({decodeTokensPerSecond} tok/s: Llama-3.2-1B int4, one stream, `bench/results/scale.md`). The full sort is what top-p/top-k cost before the sampler selected the kept head instead of sorting the vocabulary.").AppendLine();
        md.AppendLine("| vocabulary | work per token | µs | share of a decode step |").AppendLine("|---|---|---|---|");
        var table = new Table().AddColumns("vocabulary", "work per token", "µs", "share of a decode step");
        foreach (var (vocabulary, work, us) in rows)
        {
            string[] cells = [vocabulary.ToString("N0", CultureInfo.InvariantCulture), work, us.ToString("F0", CultureInfo.InvariantCulture),
                (us / 1000 / stepMs).ToString("P1", CultureInfo.InvariantCulture)];
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
        Directory.CreateDirectory(resultsDir);
        var path = Path.Combine(resultsDir, "sampler.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
        return 0;
    }

    private static IEnumerable<(string Work, double Microseconds)> Measure(int vocabulary, int steps)
    {
        var random = new Random(7);
        float Normal() => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()) * 2.5);
        var baseLogits = Enumerable.Range(0, vocabulary).Select(_ => Normal()).ToArray();
        var assistantLogits = Enumerable.Range(0, vocabulary).Select(_ => Normal()).ToArray();
        var served = new float[vocabulary];
        var greedy = new TokenSampler(SamplingSettings.Greedy, []);
        var topP = new TokenSampler(new SamplingSettings { Temperature = 0.8, TopP = 0.9, Seed = 1 }, []);
        var topKP = new TokenSampler(new SamplingSettings { Temperature = 0.8, TopK = 50, TopP = 0.9, Seed = 1 }, []);
        var order = new int[vocabulary];
        var probabilities = new float[vocabulary];
        (string Name, Action Work)[] works =
        [
            ("ULD rule (SuppressOnly, α 2)", () => UldLogits.CombineLogits(baseLogits, assistantLogits, 2, 0, served, UldRule.SuppressOnly)),
            ("sampler: greedy", () => greedy.Next(served)),
            ("sampler: temperature 0.8, top-p 0.9", () => topP.Next(served)),
            ("sampler: temperature 0.8, top-k 50, top-p 0.9", () => topKP.Next(served)),
            ("full sort of the vocabulary (reference)", () => FullSort(served, probabilities, order)),
        ];
        var times = works.Select(_ => new List<double>(steps)).ToArray();
        for (var step = 0; step < steps + 3; step++)
        {
            for (var w = 0; w < works.Length; w++)
            {
                var clock = Stopwatch.StartNew();
                works[w].Work();
                if (step >= 3) times[w].Add(clock.Elapsed.TotalMicroseconds); // the first steps warm the JIT and the arrays
            }
        }
        for (var w = 0; w < works.Length; w++) yield return (works[w].Name, times[w].Order().ElementAt(times[w].Count / 2));
    }

    private static void FullSort(float[] logits, float[] probabilities, int[] order)
    {
        var max = logits.Max();
        for (var v = 0; v < logits.Length; v++) (probabilities[v], order[v]) = (MathF.Exp(logits[v] - max), v);
        Array.Sort(order, (x, y) => probabilities[y].CompareTo(probabilities[x]) is var c && c != 0 ? c : x.CompareTo(y));
    }
}
