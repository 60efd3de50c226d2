using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Uld.Bench.Processes;
using Uld.Contracts;
using Uld.Contracts.Models;

namespace Uld.Bench;

/// <summary>What <c>uld-bench long-prompt</c> runs; see <see cref="LongPromptBenchmark"/>.</summary>
public sealed record LongPromptOptions
{
    public required string ServerDll { get; init; }
    public required string ModelDir { get; init; }
    public int Streams { get; init; } = 8;
    public int PromptTokens { get; init; } = 2000;
    /// <summary>The servers' <c>LogitServer:PrefillTimeShare</c> values compared, one server each (0: prompts run whole).</summary>
    public IReadOnlyList<double> Shares { get; init; } = [0, 0.5, 1];
    public int Rounds { get; init; } = 3;
    public required string ResultsDir { get; init; }
}

/// <summary>
/// What a long prompt does to streams already decoding (docs/SERVING.md, *Chunked prefill*): one server per
/// <c>PrefillTimeShare</c>, the same model, rounds interleaved across them. In each trial <c>streams</c> greedy
/// completions decode (EOS biased away); once each has 48 tokens (fewer in a short context), their inter-token gaps of the next 48 are the
/// baseline; then one prompt of <c>prompt-tokens</c> random tokens arrives, and the gaps that overlap the time from its
/// arrival to its first token are the window. Reported: baseline and window inter-token p50 / p95 / max, window p95 ÷
/// baseline p95, and the long prompt's time to first token. Timestamps are the client's, at each SSE chunk's arrival.
/// </summary>
public static class LongPromptBenchmark
{
    /// <summary>Tokens per stream of the warm-up and of the baseline (fewer where the context is short).</summary>
    private const int MaxWindowTokens = 48;

    /// <param name="FollowUpTtftMs">The long prompt plus 16 tokens, sent once nothing runs: its prefix is still in the slot.</param>
    /// <param name="ColdTtftMs">A new prompt of the follow-up's length, nothing of it cached, nothing else running.</param>
    private sealed record Trial(List<double> Baseline, List<double> Window, double TtftMs, double FollowUpTtftMs, double ColdTtftMs);

    public static async Task<int> RunAsync(LongPromptOptions o)
    {
        var model = ModelDirectory.Open(o.ModelDir, verifyHashes: false);
        var context = model.Config.MaxPositionEmbeddings;
        var eos = model.Generation.EosTokenId ?? throw new UserErrorException($"{o.ModelDir} declares no eos_token_id.");
        var runningTokens = Math.Min(context - 16, 8192);
        // The follow-up turn adds 16 tokens and asks for one.
        if (o.PromptTokens + 17 > context) throw new UserErrorException($"--prompt-tokens {o.PromptTokens} (+ 17 for the next turn) does not fit {model.Manifest.Name}'s context of {context}.");
        if (o.Streams < 1 || o.Rounds < 1) throw new UserErrorException("--streams and --rounds must be positive.");
        if (!File.Exists(model.ServingOnnxPath)) throw new UserErrorException($"{o.ModelDir} has no serving graph (onnx/serving.onnx): chunked prefill needs the in-place cache; re-export it with uld-trainer export-onnx.");

        var servers = new List<(double Share, ChildServer Server, HttpClient Http)>();
        try
        {
            foreach (var share in o.Shares)
            {
                var server = await ChildServer.StartAsync(o.ServerDll, new Dictionary<string, string>
                {
                    ["LogitServer:Deployments:0:Name"] = "plain",
                    ["LogitServer:Deployments:0:Kind"] = "Plain",
                    ["LogitServer:Deployments:0:Model"] = o.ModelDir,
                    ["LogitServer:MaxBatchSize"] = (o.Streams + 1).ToString(CultureInfo.InvariantCulture),
                    ["LogitServer:PrefillTimeShare"] = share.ToString(CultureInfo.InvariantCulture),
                    ["LogitServer:SkipHashCheck"] = "true",
                });
                servers.Add((share, server, new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(30) }));
            }
            var random = new Random(7);
            var vocab = model.Config.VocabSize;
            var trials = o.Shares.ToDictionary(s => s, _ => new List<Trial>());
            await AnsiConsole.Progress().StartAsync(async ctx =>
            {
                var task = ctx.AddTask("long prompt during running streams", maxValue: o.Rounds * servers.Count);
                foreach (var (_, _, http) in servers) await LoadClient.StreamTimestampsAsync(http, "plain", [1, 2, 3], 8, eos); // warm-up
                for (var round = 0; round < o.Rounds; round++)
                {
                    var prompt = Enumerable.Range(0, o.PromptTokens).Select(_ => random.Next(3, vocab)).ToArray();
                    foreach (var (share, _, http) in servers)
                    {
                        task.Description = $"round {round + 1}, PrefillTimeShare {share}";
                        trials[share].Add(await TrialAsync(http, o.Streams, prompt, runningTokens, eos, vocab));
                        task.Increment(1);
                    }
                }
            });
            Report(o, model.Manifest.Name, trials);
            return 0;
        }
        finally
        {
            foreach (var (_, server, http) in servers)
            {
                http.Dispose();
                await server.DisposeAsync();
            }
        }
    }

    private static async Task<Trial> TrialAsync(HttpClient http, int streams, int[] longPrompt, int runningTokens, int eos, int vocab)
    {
        using var stop = new CancellationTokenSource();
        var prompts = Enumerable.Range(0, streams).Select(i => new[] { 1, 3 + (i * 37 % (vocab - 3)), 3 + (i * 101 % (vocab - 3)) }).ToArray();
        long arrived = 0;
        var running = prompts.Select(p => LoadClient.StreamTimestampsAsync(http, "plain", p, runningTokens, eos, stop.Token,
            () => Interlocked.Increment(ref arrived))).ToArray();
        async Task WaitForTokens(int perStream)
        {
            var target = Interlocked.Read(ref arrived) + perStream * streams;
            while (Interlocked.Read(ref arrived) < target && !running.Any(t => t.IsCompleted)) await Task.Delay(1);
        }
        // A short context leaves fewer tokens to measure in: the windows shrink with it (down to 8 tokens a stream).
        var window = Math.Clamp(runningTokens / 16, 8, MaxWindowTokens);
        await WaitForTokens(window);
        var baselineStart = Stopwatch.GetTimestamp();
        await WaitForTokens(window);
        var sent = Stopwatch.GetTimestamp();
        var longOne = await LoadClient.StreamTimestampsAsync(http, "plain", longPrompt, 1, eos);
        var first = longOne.Count > 0 ? longOne[0] : Stopwatch.GetTimestamp();
        await WaitForTokens(4); // the step after the long prompt's first token ends the last gap of the window
        await stop.CancelAsync();
        var arrivals = await Task.WhenAll(running);
        if (running.Any(t => t.IsCompletedSuccessfully && t.Result.Count >= runningTokens))
            throw new UserErrorException($"a running stream ended ({runningTokens} tokens) before the long prompt was served; use a model with a longer context.");

        var (baseline, during) = (new List<double>(), new List<double>());
        foreach (var times in arrivals)
        {
            for (var i = 1; i < times.Count; i++)
            {
                var (start, end) = (times[i - 1], times[i]);
                var gap = Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
                if (start >= baselineStart && end <= sent) baseline.Add(gap);
                else if (start < first && end > sent) during.Add(gap);
            }
        }
        // The next turn of the same conversation, then a cold prompt as long, both with nothing else running.
        var followUp = longPrompt.Concat(Enumerable.Range(0, 16).Select(i => 3 + (i * 7919 % (vocab - 3)))).ToArray();
        var followUpMs = await FirstTokenMsAsync(http, followUp, eos);
        var cold = followUp.Select(t => 3 + ((t * 31 + 17) % (vocab - 3))).ToArray();
        var coldMs = await FirstTokenMsAsync(http, cold, eos);
        return new Trial(baseline, during, Stopwatch.GetElapsedTime(sent, first).TotalMilliseconds, followUpMs, coldMs);
    }

    private static async Task<double> FirstTokenMsAsync(HttpClient http, int[] prompt, int eos)
    {
        var sent = Stopwatch.GetTimestamp();
        var arrivals = await LoadClient.StreamTimestampsAsync(http, "plain", prompt, 1, eos);
        return Stopwatch.GetElapsedTime(sent, arrivals.Count > 0 ? arrivals[0] : Stopwatch.GetTimestamp()).TotalMilliseconds;
    }

    private static void Report(LongPromptOptions o, string modelName, Dictionary<double, List<Trial>> trials)
    {
        var md = new StringBuilder()
            .AppendLine("# A long prompt arriving during running streams")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:u}, {Environment.ProcessorCount} cores; {modelName}, in-place KV cache; {o.Streams} greedy streams decoding, then one prompt of {o.PromptTokens} random tokens; {o.Rounds} rounds interleaved across one server per `LogitServer:PrefillTimeShare`. Baseline: the streams' inter-token gaps over up to {MaxWindowTokens} tokens each before the prompt arrives; window: the gaps overlapping its arrival → its first token. Then, with nothing else running, the same prompt plus 16 tokens (the next turn of a conversation: its prefix is still in the slot) and a new prompt as long (nothing cached). Client-side SSE arrival times.")
            .AppendLine()
            .AppendLine("| PrefillTimeShare | baseline p50 ms | baseline p95 ms | window p50 ms | window p95 ms | window max ms | window p95 / baseline p95 | long prompt TTFT ms (mean) | next turn TTFT ms (prefix cached) | cold prompt as long, TTFT ms |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        var table = new Table().AddColumns("PrefillTimeShare", "baseline p95 ms", "window p95 ms", "window max ms", "p95 ratio", "TTFT ms", "next turn TTFT ms", "cold TTFT ms");
        foreach (var (share, list) in trials)
        {
            var baseline = list.SelectMany(t => t.Baseline).Order().ToList();
            var window = list.SelectMany(t => t.Window).Order().ToList();
            var (b95, w95) = (ServeBenchmark.Percentile(baseline, 0.95), ServeBenchmark.Percentile(window, 0.95));
            var ttft = list.Average(t => t.TtftMs);
            string[] row = [F(share), F(ServeBenchmark.Percentile(baseline, 0.5)), F(b95), F(ServeBenchmark.Percentile(window, 0.5)), F(w95), F(window.Count == 0 ? double.NaN : window[^1]), F(w95 / b95) + "×", F(ttft),
                F(list.Average(t => t.FollowUpTtftMs)), F(list.Average(t => t.ColdTtftMs))];
            md.AppendLine("| " + string.Join(" | ", row) + " |");
            table.AddRow(row[0], row[2], row[4], row[5], row[6], row[7], row[8], row[9]);
        }
        AnsiConsole.Write(table);
        Directory.CreateDirectory(o.ResultsDir);
        var path = Path.Combine(o.ResultsDir, "long-prompt.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.WriteLine($"results: {path}");
    }

    private static string F(double x) => double.IsNaN(x) ? "—" : x.ToString(x >= 100 ? "N0" : "0.##", CultureInfo.InvariantCulture);
}
