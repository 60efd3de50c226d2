using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Contracts;
using Uld.Bench.LlamaCpp;
using Uld.Bench.Processes;
using Uld.Contracts.Models;

namespace Uld.Bench;

/// <summary>What <c>uld-bench serve</c> runs; see <see cref="ServeBenchmark"/>.</summary>
public sealed record ServeOptions
{
    public required string ServerDll { get; init; }
    public required string BaseDir { get; init; }
    public required string AssistantDir { get; init; }
    /// <summary>The pair's fused graph, also served and measured as "uld-fused".</summary>
    public string? Fused { get; init; }
    /// <summary>llama2.c's run.c on the base's weights, measured once per round.</summary>
    public Llama2cReference? Llama2c { get; init; }
    /// <summary>llama.cpp on the base's weights (or why not), measured in the same run.</summary>
    public required LlamaCppSide LlamaCpp { get; init; }
    /// <summary>llama.cpp's threads; run.c runs on every core.</summary>
    public int LlamaCppThreads { get; init; } = Environment.ProcessorCount;
    public int Tokens { get; init; } = 128;
    public IReadOnlyList<int> Concurrency { get; init; } = [1, 4, 16];
    public int Rounds { get; init; } = 3;
    public required string ResultsDir { get; init; }
    /// <summary>The server's <c>LogitServer:KvCache</c> ("InPlace" or "Concat"); null: its default.</summary>
    public string? KvCache { get; init; }
}

/// <summary>
/// Serving throughput and time to first token, plain vs ULD, at several concurrency levels, against a real
/// uld-logitserver process on loopback driven by concurrent streaming clients; engine-only throughput comes from the
/// server's own /metrics. Cells run interleaved (plain, ULD, plain, …)
/// so that machine noise affects both alike; ratios are what to read. The outside references, llama2.c's run.c and
/// llama.cpp on the same weights, run between the cells of each round.
/// </summary>
public static class ServeBenchmark
{
    public sealed record Cell(string Deployment, int Streams, double TokensPerSecond, double TtftP50Ms, double TtftP95Ms, int Tokens);


    public static async Task<int> RunAsync(ServeOptions o)
    {
        var (baseDir, assistantDir, fused, reference, tokens, concurrency, rounds) = (o.BaseDir, o.AssistantDir, o.Fused, o.Llama2c, o.Tokens, o.Concurrency, o.Rounds);
        var threads = Environment.ProcessorCount;
        var llamaCpp = new LlamaCppServeRows(o.LlamaCpp, o.LlamaCppThreads, tokens, concurrency);
        // With a fused graph the same pair is also served as one session run per step ("uld-fused"), measured side by side.
        string[] deployments = fused is null ? ["plain", "uld"] : ["plain", "uld", "uld-fused"];
        var settings = new Dictionary<string, string>
        {
            ["LogitServer:Deployments:0:Name"] = "plain",
            ["LogitServer:Deployments:0:Kind"] = "Plain",
            ["LogitServer:Deployments:0:Model"] = baseDir,
            ["LogitServer:Deployments:1:Name"] = "uld",
            ["LogitServer:Deployments:1:Kind"] = "Uld",
            ["LogitServer:Deployments:1:Base"] = baseDir,
            ["LogitServer:Deployments:1:Assistant"] = assistantDir,
        };
        if (o.KvCache is not null) settings["LogitServer:KvCache"] = o.KvCache;
        if (fused is not null)
        {
            settings["LogitServer:Deployments:2:Name"] = "uld-fused";
            settings["LogitServer:Deployments:2:Kind"] = "Uld";
            settings["LogitServer:Deployments:2:Base"] = baseDir;
            settings["LogitServer:Deployments:2:Assistant"] = assistantDir;
            settings["LogitServer:Deployments:2:Fused"] = fused;
        }
        await using var server = await ChildServer.StartAsync(o.ServerDll, settings);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };

        // Warm-up: first sessions runs allocate and JIT.
        await Task.WhenAll(deployments.Select(d => LoadClient.StreamAsync(http, d, LoadClient.Prompts[0], 16)));

        var samples = new Dictionary<(string, int), List<(double Seconds, List<double> Ttft, int Tokens)>>();
        // What continuous batching itself delivers: the server's own tokens per second of engine step time, per cell.
        var engine = new Dictionary<(string, int), EngineCounters>();
        var referenceTokensPerSecond = new List<double>();
        await AnsiConsole.Progress().StartAsync(async ctx =>
        {
            var task = ctx.AddTask("serving benchmark", maxValue: rounds * concurrency.Count * deployments.Length);
            for (var round = 0; round < rounds; round++)
            {
                // The outside reference runs between the cells of each round, so it sees the same machine load.
                if (reference is not null) referenceTokensPerSecond.Add(reference.TokensPerSecond(LoadClient.Prompts[0], tokens, threads));
                llamaCpp.MeasureRound(status => task.Description = Markup.Escape(status));
                task.Description = "serving benchmark";
                foreach (var streams in concurrency)
                {
                    foreach (var deployment in deployments)
                    {
                        var before = await EngineCounters.ScrapeAsync(http);
                        var started = Stopwatch.GetTimestamp();
                        var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => LoadClient.StreamAsync(http, deployment, LoadClient.Prompts[i % LoadClient.Prompts.Length], tokens)));
                        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                        var delta = (await EngineCounters.ScrapeAsync(http))[deployment].Since(before.GetValueOrDefault(deployment) ?? new EngineCounters(0, 0));
                        var key = (deployment, streams);
                        if (!samples.TryGetValue(key, out var list)) samples[key] = list = [];
                        list.Add((seconds, results.Select(r => r.TtftMs).ToList(), results.Sum(r => r.Tokens)));
                        engine[key] = engine.TryGetValue(key, out var sum) ? new EngineCounters(sum.GeneratedTokens + delta.GeneratedTokens, sum.StepSeconds + delta.StepSeconds) : delta;
                        task.Increment(1);
                    }
                }
            }
            await llamaCpp.MeasurePrefillAsync(http, "plain", ModelDirectory.Open(baseDir, verifyHashes: false).Config.VocabSize, status => task.Description = Markup.Escape(status));
        });

        var cells = samples.Select(kv =>
        {
            var ttft = kv.Value.SelectMany(s => s.Ttft).Order().ToList();
            var tokensTotal = kv.Value.Sum(s => s.Tokens);
            return new Cell(kv.Key.Item1, kv.Key.Item2, tokensTotal / kv.Value.Sum(s => s.Seconds), Percentile(ttft, 0.5), Percentile(ttft, 0.95), tokensTotal);
        }).OrderBy(c => c.Streams).ThenBy(c => c.Deployment).ToList();
        var direct = engine.ToDictionary(kv => kv.Key, kv => kv.Value.TokensPerSecond);
        // Where the time goes: the share of each deployment's wall time the engine thread spent in model steps, and by part.
        var benchSeconds = samples.Values.SelectMany(v => v).Sum(v => v.Seconds);
        double Wall(string d) => samples.Where(s => s.Key.Item1 == d).SelectMany(s => s.Value).Sum(v => v.Seconds);
        var profile = "Engine busy (prefill + decode steps, incl. sampling) vs wall time while loaded: " +
                      string.Join(", ", deployments.Select(d => $"{d} {F(100 * engine.Where(e => e.Key.Item1 == d).Sum(e => e.Value.StepSeconds) / Wall(d))}%")) +
                      "; the rest is HTTP/SSE, JSON, detokenization and the load generator sharing the same cores. " +
                      "Engine thread by part (share of the whole benchmark's wall time): " +
                      string.Join("; ", EngineParts(await http.GetStringAsync("/metrics")).GroupBy(p => p.Deployment).Select(g =>
                          $"{g.Key} " + string.Join(", ", g.Select(p => $"{p.Part} {F(100 * p.Seconds / benchSeconds)}%")))) + ".";
        if (reference is not null)
        {
            var r = referenceTokensPerSecond.Average();
            var (plainHttp, plainEngine) = (cells.Single(c => c.Deployment == "plain" && c.Streams == 1).TokensPerSecond, direct.GetValueOrDefault(("plain", 1)));
            profile = $"Outside reference: {reference.Description(threads)}: {F(r)} tok/s (mean of {referenceTokensPerSecond.Count} runs, " +
                      $"one per round between the cells). Plain single stream / llama2.c: over HTTP {F(plainHttp / r)}×, engine-only {F(plainEngine / r)}×.\n\n" + profile;
        }
        var llamaCppSection = llamaCpp.Markdown(n => cells.Single(c => c.Deployment == "plain" && c.Streams == n).TokensPerSecond, n => direct[("plain", n)], rounds);
        // Which cache served: in place where the models have serving graphs (not a fused graph), else concatenated.
        var cache = o.KvCache ?? "InPlace (default)";
        bool HasServingGraph(string dir) => File.Exists(ModelDirectory.Open(dir, verifyHashes: false).ServingOnnxPath);
        profile = $"KV cache (LogitServer:KvCache): {cache}; serving graphs: base {(HasServingGraph(baseDir) ? "yes" : "no")}, " +
                  $"assistant {(HasServingGraph(assistantDir) ? "yes" : "no")}.\n\n" + profile;
        Report(cells, direct, deployments, concurrency, tokens, rounds, o.ResultsDir, profile, llamaCppSection);
        return 0;
    }

    /// <summary>uld_engine_seconds_total per deployment and part (session, cache, sampling) from a Prometheus scrape.</summary>
    private static List<(string Deployment, string Part, double Seconds)> EngineParts(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("uld_engine_seconds_total{", StringComparison.Ordinal))
        .Select(l => (l.Split("deployment=\"")[1].Split('"')[0], l.Split("part=\"")[1].Split('"')[0], double.Parse(l.Split(' ')[^1], CultureInfo.InvariantCulture)))
        .OrderBy(x => x.Item1, StringComparer.Ordinal).ThenBy(x => x.Item2, StringComparer.Ordinal).ToList();

    private static void Report(List<Cell> cells, Dictionary<(string, int), double> direct, string[] deployments, IReadOnlyList<int> concurrency, int tokens, int rounds,
        string resultsDir, string profile, string llamaCppSection)
    {
        Cell Get(string d, int s) => cells.Single(c => c.Deployment == d && c.Streams == s);
        var table = new Table().AddColumns("streams", "plain tok/s", "ULD tok/s", "ULD / plain", "plain TTFT p50 ms", "ULD TTFT p50 ms", "ULD TTFT p95 ms",
            "engine-only plain tok/s", "engine-only ULD tok/s", "engine-only ULD / plain");
        var md = new StringBuilder()
            .AppendLine("# Serving benchmark: plain vs ULD")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:u}, {Environment.ProcessorCount} cores; {tokens} tokens per stream, greedy, streaming over loopback HTTP; {rounds} interleaved rounds per cell; server in its own process. tok/s is aggregate over all streams; engine-only tok/s is generated tokens per second of engine step time (uld_generated_tokens_total / uld_step_seconds from the server's /metrics).")
            .AppendLine()
            .AppendLine("| streams | plain tok/s | ULD tok/s | ULD / plain | plain TTFT p50 ms | ULD TTFT p50 ms | ULD TTFT p95 ms | engine-only plain tok/s | engine-only ULD tok/s | engine-only ULD / plain |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in concurrency)
        {
            var (p, u) = (Get("plain", s), Get("uld", s));
            string[] row = [s.ToString(CultureInfo.InvariantCulture), F(p.TokensPerSecond), F(u.TokensPerSecond), F(u.TokensPerSecond / p.TokensPerSecond) + "×",
                F(p.TtftP50Ms), F(u.TtftP50Ms), F(u.TtftP95Ms),
                F(direct[("plain", s)]), F(direct[("uld", s)]), F(direct[("uld", s)] / direct[("plain", s)]) + "×"];
            table.AddRow(row);
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }
        var (low, high) = (concurrency.Min(), concurrency.Max());
        var speedups = deployments.Select(d => $"{d}: {F(Get(d, high).TokensPerSecond / Get(d, low).TokensPerSecond)}×").ToList();
        var directSpeedups = deployments.Select(d => $"{d}: {F(direct[(d, high)] / direct[(d, low)])}×").ToList();
        var summary = $"Aggregate speedup, {high} streams vs {low}: over HTTP {string.Join(", ", speedups)}; engine-only {string.Join(", ", directSpeedups)}.";
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine(summary);
        AnsiConsole.WriteLine(profile);
        md.AppendLine().AppendLine(summary).AppendLine().AppendLine(profile);
        if (deployments.Contains("uld-fused")) md.AppendLine().Append(FusedTable(cells, direct, concurrency));
        AnsiConsole.WriteLine(llamaCppSection);
        md.AppendLine().Append(llamaCppSection);
        Directory.CreateDirectory(resultsDir);
        var path = Path.Combine(resultsDir, "serve.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.WriteLine($"results: {path}");
    }

    /// <summary>The fused graph against the two-session pair and plain, same run, same cells.</summary>
    private static string FusedTable(List<Cell> cells, Dictionary<(string, int), double> direct, IReadOnlyList<int> concurrency)
    {
        Cell Get(string d, int s) => cells.Single(c => c.Deployment == d && c.Streams == s);
        var md = new StringBuilder()
            .AppendLine("Fused ULD graph (one session run per step) vs the two-session pair:")
            .AppendLine()
            .AppendLine("| streams | fused tok/s | fused / plain | fused / two-session | fused TTFT p50 ms | engine-only fused tok/s | engine-only fused / plain | engine-only fused / two-session |")
            .AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var s in concurrency)
        {
            var (p, u, f) = (Get("plain", s), Get("uld", s), Get("uld-fused", s));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s} | {F(f.TokensPerSecond)} | {F(f.TokensPerSecond / p.TokensPerSecond)}× | {F(f.TokensPerSecond / u.TokensPerSecond)}× | {F(f.TtftP50Ms)} | " +
                $"{F(direct[("uld-fused", s)])} | {F(direct[("uld-fused", s)] / direct[("plain", s)])}× | {F(direct[("uld-fused", s)] / direct[("uld", s)])}× |");
        }
        AnsiConsole.Write(new Markup(Markup.Escape(md.ToString())));
        return md.ToString();
    }

    internal static double Percentile(List<double> sorted, double q) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
