using System.Globalization;

namespace Uld.Bench;

/// <summary>
/// The LogitServer's own engine counters for one deployment, from a <c>/metrics</c> scrape: tokens generated and
/// seconds spent in model steps (<c>uld_step_seconds</c>, prefill and decode, sampling included). The difference of
/// two scrapes around a load gives the engine-only throughput, with HTTP, JSON and SSE left out.
/// </summary>
public sealed record EngineCounters(double GeneratedTokens, double StepSeconds)
{
    public static async Task<Dictionary<string, EngineCounters>> ScrapeAsync(HttpClient server, CancellationToken ct = default) =>
        Parse(await server.GetStringAsync("/metrics", ct));

    public static Dictionary<string, EngineCounters> Parse(string metrics)
    {
        var tokens = Sum(metrics, "uld_generated_tokens_total{");
        var seconds = Sum(metrics, "uld_step_seconds_sum{");
        return tokens.Keys.Union(seconds.Keys).ToDictionary(d => d, d => new EngineCounters(tokens.GetValueOrDefault(d), seconds.GetValueOrDefault(d)));
    }

    public EngineCounters Since(EngineCounters earlier) => new(GeneratedTokens - earlier.GeneratedTokens, StepSeconds - earlier.StepSeconds);

    public double TokensPerSecond => StepSeconds > 0 ? GeneratedTokens / StepSeconds : 0;

    /// <summary>Sum per deployment label of the series starting with <paramref name="prefix"/> (all phases).</summary>
    private static Dictionary<string, double> Sum(string metrics, string prefix) => metrics.Split('\n')
        .Where(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains("deployment=\"", StringComparison.Ordinal))
        .Select(l => (Deployment: l.Split("deployment=\"")[1].Split('"')[0], Value: double.Parse(l.Trim().Split(' ')[^1], CultureInfo.InvariantCulture)))
        .GroupBy(x => x.Deployment)
        .ToDictionary(g => g.Key, g => g.Sum(x => x.Value));
}
