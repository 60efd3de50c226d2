using Uld.Web;

namespace Uld.LogitServer;

/// <summary><c>uld-logitserver --help</c>: what the server is, its options and where its settings are documented.</summary>
public static class LogitServerUsage
{
    public static readonly ServerUsage Help = new(
        "uld-logitserver",
        "uld-logitserver: the inference server. Serves model deployments (plain, ULD, fused ULD, offset) with continuous batching behind an OpenAI-compatible API.",
        [("--log-format <FORMAT>", "simple, json (one JSON object per line) or systemd; short for Logging:Console:FormatterName")],
        [
            ("LogitServer", "Deployments (Plain, Uld, Offset; their models and α/β bounds), batching and queue limits, threads, execution providers, the admin API: docs/SERVING.md, *Deployments*"),
            ("Drain", "How long a stopping replica finishes what it admitted (GracePeriodSeconds): docs/SERVING.md, *Shutdown drains*"),
            ("Metrics", "Metrics:Port serves /metrics on a port of its own: docs/OPERATIONS.md, *Health and metrics*"),
            ("Logging", "Log levels and format: docs/SERVING.md, *Logging*"),
        ]);
}
