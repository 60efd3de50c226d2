using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Contracts;
using System.Security.Cryptography;
using Uld.Bench.Processes;

namespace Uld.Bench;

/// <summary>
/// The gateway's cost: the same load sent straight to a LogitServer and through the Gateway in front of it,
/// interleaved in one run. Throughput: concurrent streams; latency: sequential one-token requests.
/// </summary>
public static class GatewayBenchmark
{
    public static async Task<int> RunAsync(string serverDll, string gatewayDll, string modelDir, int streams, int tokens, int rounds, int latencyRequests, string resultsDir)
    {
        await using var server = await ChildServer.StartAsync(serverDll, new Dictionary<string, string>
        {
            ["LogitServer:Deployments:0:Name"] = "plain",
            ["LogitServer:Deployments:0:Model"] = modelDir,
        });
        const string key = "sk-bench";
        await using var gateway = await ChildServer.StartAsync(gatewayDll, new Dictionary<string, string>
        {
            ["Gateway:Clusters:local:Replicas:0"] = server.Address.ToString(),
            ["Gateway:Clusters:local:Models:0"] = "plain",
            ["Gateway:ApiKeys:0:Name"] = "bench",
            ["Gateway:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))),
            ["Gateway:ApiKeys:0:RequestsPerMinute"] = "1000000",
        });
        var (serverAddress, gatewayAddress) = (server.Address, gateway.Address);
        using var direct = new HttpClient { BaseAddress = serverAddress, Timeout = TimeSpan.FromMinutes(10) };
        using var viaGateway = new HttpClient { BaseAddress = gatewayAddress, Timeout = TimeSpan.FromMinutes(10) };
        viaGateway.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var clients = new[] { ("direct", direct), ("gateway", viaGateway) };

        foreach (var (_, http) in clients) await LoadClient.StreamAsync(http, "plain", LoadClient.Prompts[0], 8); // warm-up

        var throughput = clients.ToDictionary(c => c.Item1, _ => (Tokens: 0, Seconds: 0.0));
        var latency = clients.ToDictionary(c => c.Item1, _ => new List<double>());
        await AnsiConsole.Progress().StartAsync(async ctx =>
        {
            var task = ctx.AddTask("gateway benchmark", maxValue: rounds * 2);
            for (var round = 0; round < rounds; round++)
            {
                foreach (var (name, http) in clients)
                {
                    var started = Stopwatch.GetTimestamp();
                    var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => LoadClient.StreamAsync(http, "plain", LoadClient.Prompts[i % LoadClient.Prompts.Length], tokens)));
                    var t = throughput[name];
                    throughput[name] = (t.Tokens + results.Sum(r => r.Tokens), t.Seconds + Stopwatch.GetElapsedTime(started).TotalSeconds);
                    for (var i = 0; i < latencyRequests / rounds; i++) latency[name].Add(await OneTokenRequestMs(http));
                    task.Increment(1);
                }
            }
        });

        double TokS(string n) => throughput[n].Tokens / throughput[n].Seconds;
        double P50(string n) => latency[n].Order().ElementAt(latency[n].Count / 2);
        var loss = 100 * (1 - TokS("gateway") / TokS("direct"));
        var added = P50("gateway") - P50("direct");
        var table = new Table().AddColumns("path", $"tok/s ({streams} streams)", "p50 latency ms (1-token request)");
        foreach (var (name, _) in clients) table.AddRow(name, F(TokS(name)), F(P50(name)));
        AnsiConsole.Write(table);
        var summary = $"Gateway overhead: {F(loss)}% throughput loss (target ≤ 5%), +{F(added)} ms p50 latency.";
        AnsiConsole.WriteLine(summary);

        var md = new StringBuilder()
            .AppendLine("# Gateway overhead")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:u}, {Environment.ProcessorCount} cores; one LogitServer, the Gateway in front of it, client, gateway and server each in its own process on loopback; {rounds} interleaved rounds of {streams} streams × {tokens} tokens, then {latencyRequests} sequential one-token requests per path.")
            .AppendLine()
            .AppendLine($"| path | tok/s ({streams} streams) | p50 latency ms |")
            .AppendLine("|---|---|---|");
        foreach (var (name, _) in clients) md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {F(TokS(name))} | {F(P50(name))} |");
        md.AppendLine().AppendLine(summary);
        Directory.CreateDirectory(resultsDir);
        var path = Path.Combine(resultsDir, "gateway.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.WriteLine($"results: {path}");
        return 0;
    }

    private static async Task<double> OneTokenRequestMs(HttpClient http)
    {
        var body = new JsonObject
        {
            ["model"] = "plain",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" }),
            ["max_tokens"] = 1,
        };
        var started = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        await response.Content.ReadAsStringAsync();
        response.EnsureSuccessStatusCode();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
