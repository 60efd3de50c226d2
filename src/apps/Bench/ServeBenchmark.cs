using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Contracts;
using Uld.Bench.Processes;

namespace Uld.Bench;

/// <summary>
/// Serving throughput and time to first token, plain vs ULD, at several concurrency levels, against a real
/// uld-logitserver process on loopback driven by concurrent streaming clients; engine-only throughput comes from the
/// server's own /metrics. Cells run interleaved (plain, ULD, plain, …)
/// so that machine noise affects both alike; ratios are what to read.
/// </summary>
public static class ServeBenchmark
{
    public sealed record Cell(string Deployment, int Streams, double TokensPerSecond, double TtftP50Ms, double TtftP95Ms, int Tokens);


    public static async Task<int> RunAsync(string serverDll, string baseDir, string assistantDir, int tokens, int[] concurrency, int rounds, string resultsDir)
    {
        await using var server = await ChildServer.StartAsync(serverDll, new Dictionary<string, string>
        {
            ["LogitServer:Deployments:0:Name"] = "plain",
            ["LogitServer:Deployments:0:Kind"] = "Plain",
            ["LogitServer:Deployments:0:Model"] = baseDir,
            ["LogitServer:Deployments:1:Name"] = "uld",
            ["LogitServer:Deployments:1:Kind"] = "Uld",
            ["LogitServer:Deployments:1:Base"] = baseDir,
            ["LogitServer:Deployments:1:Assistant"] = assistantDir,
        });
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };

        // Warm-up: first sessions runs allocate and JIT.
        await Task.WhenAll(new[] { "plain", "uld" }.Select(d => LoadClient.StreamAsync(http, d, LoadClient.Prompts[0], 16)));

        var samples = new Dictionary<(string, int), List<(double Seconds, List<double> Ttft, int Tokens)>>();
        // What continuous batching itself delivers: the server's own tokens per second of engine step time, per cell.
        var engine = new Dictionary<(string, int), EngineCounters>();
        await AnsiConsole.Progress().StartAsync(async ctx =>
        {
            var task = ctx.AddTask("serving benchmark", maxValue: rounds * concurrency.Length * 2);
            for (var round = 0; round < rounds; round++)
            {
                foreach (var streams in concurrency)
                {
                    foreach (var deployment in new[] { "plain", "uld" })
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
        });

        var cells = samples.Select(kv =>
        {
            var ttft = kv.Value.SelectMany(s => s.Ttft).Order().ToList();
            var tokensTotal = kv.Value.Sum(s => s.Tokens);
            return new Cell(kv.Key.Item1, kv.Key.Item2, tokensTotal / kv.Value.Sum(s => s.Seconds), Percentile(ttft, 0.5), Percentile(ttft, 0.95), tokensTotal);
        }).OrderBy(c => c.Streams).ThenBy(c => c.Deployment).ToList();
        var direct = engine.ToDictionary(kv => kv.Key, kv => kv.Value.TokensPerSecond);
        // Where the time goes: the share of each deployment's wall time the engine thread spent in model steps.
        var profile = "Engine busy (prefill + decode steps, incl. sampling) vs wall time while loaded: " +
                      string.Join(", ", new[] { "plain", "uld" }.Select(d => $"{d} {F(100 * engine.Where(e => e.Key.Item1 == d).Sum(e => e.Value.StepSeconds) / samples.Where(s => s.Key.Item1 == d).SelectMany(s => s.Value).Sum(v => v.Seconds))}%")) +
                      "; the rest is HTTP/SSE, JSON, detokenization and the load generator sharing the same cores.";
        Report(cells, direct, concurrency, tokens, rounds, resultsDir, profile);
        return 0;
    }

    private static void Report(List<Cell> cells, Dictionary<(string, int), double> direct, int[] concurrency, int tokens, int rounds, string resultsDir, string profile)
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
        var speedups = new[] { "plain", "uld" }.Select(d => $"{d}: {F(Get(d, high).TokensPerSecond / Get(d, low).TokensPerSecond)}×").ToList();
        var directSpeedups = new[] { "plain", "uld" }.Select(d => $"{d}: {F(direct[(d, high)] / direct[(d, low)])}×").ToList();
        var summary = $"Aggregate speedup, {high} streams vs {low}: over HTTP {string.Join(", ", speedups)}; engine-only {string.Join(", ", directSpeedups)}.";
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine(summary);
        AnsiConsole.WriteLine(profile);
        md.AppendLine().AppendLine(summary).AppendLine().AppendLine(profile);
        Directory.CreateDirectory(resultsDir);
        var path = Path.Combine(resultsDir, "serve.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.WriteLine($"results: {path}");
    }

    private static double Percentile(List<double> sorted, double q) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
