using Prometheus;

namespace Uld.Gateway;

public static class GatewayMetrics
{
    public static readonly Counter VariantRequests = Metrics.CreateCounter("uld_gateway_variant_requests_total",
        "Requests per A/B experiment variant and response status.", "experiment", "variant", "status");
    public static readonly Histogram VariantLatency = Metrics.CreateHistogram("uld_gateway_variant_duration_seconds",
        "Time to the end of the response per experiment variant.", new HistogramConfiguration
        {
            LabelNames = ["experiment", "variant"],
            Buckets = Histogram.ExponentialBuckets(0.005, 2, 14),
        });
    public static readonly Counter Retries = Metrics.CreateCounter("uld_gateway_retries_total",
        "Requests re-sent to another replica after a connection failure (no byte had reached the first).", "cluster");
    public static readonly Counter UpstreamFailures = Metrics.CreateCounter("uld_gateway_upstream_failures_total",
        "Proxied requests that failed at a replica, by YARP error kind.", "error");
}
