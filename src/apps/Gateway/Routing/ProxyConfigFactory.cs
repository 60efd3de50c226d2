using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;

namespace Uld.Gateway.Routing;

/// <summary>
/// YARP routes and clusters from <see cref="GatewayOptions"/>: one catch-all route under /v1 (the cluster is chosen per
/// request from the body's model), one cluster per replica pool with power-of-two-choices balancing, active /health
/// probes, passive failure tracking, and an activity timeout sized for long generations.
/// </summary>
public static class ProxyConfigFactory
{
    public const string RouteId = "openai";

    public static (IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters) Create(GatewayOptions options)
    {
        var clusters = options.Clusters.Select(kv => new ClusterConfig
        {
            ClusterId = kv.Key,
            LoadBalancingPolicy = "PowerOfTwoChoices",
            HealthCheck = new HealthCheckConfig
            {
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = true,
                    Interval = options.HealthCheckInterval,
                    Timeout = TimeSpan.FromSeconds(2),
                    Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                    Path = "/health",
                },
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = true,
                    Policy = HealthCheckConstants.PassivePolicy.TransportFailureRate,
                    ReactivationPeriod = TimeSpan.FromSeconds(10),
                },
            },
            HttpRequest = new ForwarderRequestConfig { ActivityTimeout = options.ActivityTimeout },
            Destinations = kv.Value.Replicas.Select((address, i) => (address, i))
                .ToDictionary(x => $"{kv.Key}-{x.i}", x => new DestinationConfig { Address = x.address }),
        }).ToList();

        // The OpenAI API under /v1 plus the tokenizer endpoints evaluation uses; the cluster is chosen per request.
        var routes = new[] { "/v1/{**rest}", "/tokenize", "/detokenize" }.Select((path, i) => new RouteConfig
        {
            RouteId = i == 0 ? RouteId : RouteId + path.Replace('/', '-'),
            ClusterId = clusters[0].ClusterId,
            Match = new RouteMatch { Path = path },
        }).ToList();
        return (routes, clusters);
    }
}
