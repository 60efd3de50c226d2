using Prometheus;

namespace Uld.LogitServer.Engine;

/// <summary>Prometheus metrics of the engine, labelled by deployment.</summary>
public static class EngineMetrics
{
    public static readonly Gauge QueueDepth = Metrics.CreateGauge("uld_queue_depth", "Requests waiting for a batch slot.", "deployment");
    public static readonly Gauge ActiveSequences = Metrics.CreateGauge("uld_active_sequences", "Sequences in the running batch.", "deployment");
    public static readonly Histogram BatchSize = Metrics.CreateHistogram("uld_batch_size", "Rows per decode step.", new HistogramConfiguration
    {
        LabelNames = ["deployment"],
        Buckets = [1, 2, 4, 8, 16, 32, 64],
    });
    public static readonly Counter GeneratedTokens = Metrics.CreateCounter("uld_generated_tokens_total", "Tokens generated (tokens/s = rate of this).", "deployment");
    public static readonly Counter PromptTokens = Metrics.CreateCounter("uld_prompt_tokens_total", "Prompt tokens prefilled.", "deployment");
    public static readonly Counter CachedPromptTokens = Metrics.CreateCounter("uld_cached_prompt_tokens_total",
        "Prompt tokens found in the KV cache (a prefix an earlier or running sequence computed) and not prefilled.", "deployment");
    public static readonly Histogram TimeToFirstToken = Metrics.CreateHistogram("uld_time_to_first_token_seconds", "Queue + prefill time until the first token.", new HistogramConfiguration
    {
        LabelNames = ["deployment"],
        Buckets = Histogram.ExponentialBuckets(0.001, 2, 16),
    });
    public static readonly Histogram StepSeconds = Metrics.CreateHistogram("uld_step_seconds", "Duration of one engine step (prefill or decode).", new HistogramConfiguration
    {
        LabelNames = ["deployment", "phase"],
        Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16),
    });
    /// <summary>Where engine time goes: "session" (ONNX Runtime runs), "cache" (rebuilding the batch cache), "sampling" (ULD rule, sampling, emitting tokens).</summary>
    public static readonly Counter EngineSeconds = Metrics.CreateCounter("uld_engine_seconds_total", "Engine thread time by part of a step.", "deployment", "part");
    public static readonly Counter Rejected = Metrics.CreateCounter("uld_rejected_requests_total", "Requests refused because the queue was full.", "deployment");
}
