using Uld.Web;

namespace Uld.Gateway;

/// <summary><c>uld-gateway --help</c>: what the gateway is, its options and where its settings are documented.</summary>
public static class GatewayUsage
{
    public static readonly ServerUsage Help = new(
        "uld-gateway",
        "uld-gateway: the public endpoint in front of LogitServer replicas. Routes by model, enforces the α policy the replicas publish, runs A/B experiments, checks API keys and rate limits.",
        [("--log-format json", "One JSON object per log line (Logging:Console:FormatterName=json likewise)")],
        [
            ("Gateway", "Clusters of replicas (listed or found by DNS) and their models, experiments, API keys and their limits, timeouts: docs/SERVING.md, *Gateway*; the α policy: docs/SERVING.md, *The α policy: who decides what*"),
            ("Metrics", "Metrics:Port serves /metrics on a port of its own: docs/OPERATIONS.md, *Health and metrics*"),
            ("Logging", "Log levels and format: docs/SERVING.md, *Logging*"),
        ]);
}
