using Uld.Gateway.Discovery;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;

namespace Uld.Gateway.Routing;

/// <summary>
/// YARP routes and clusters from <see cref="GatewayOptions"/>: one route per forwarded entry of <see cref="GatewayRoutes"/>
/// (exact canonical path and method; the cluster is chosen per request from the admitted body), one cluster per replica
/// pool (listed replicas, or a replica service resolved by DNS) with power-of-two-choices balancing, active /health probes, passive failure tracking, and an activity timeout
/// sized for long generations.
/// </summary>
public static class ProxyConfigFactory
{
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
            Destinations = kv.Value.ReplicaService is { } service
                // One placeholder that Discovery/ReplicaServiceResolver expands into a destination per resolved address.
                ? new Dictionary<string, DestinationConfig>
                {
                    [$"{kv.Key}-service"] = new() { Address = service, Metadata = new Dictionary<string, string> { [ReplicaServiceResolver.ServiceMetadata] = "true" } },
                }
                : kv.Value.Replicas.Select((address, i) => (address, i))
                    .ToDictionary(x => $"{kv.Key}-{x.i}", x => new DestinationConfig { Address = x.address }),
        }).ToList();

        var routes = GatewayRoutes.Forwarded.Select(route => new RouteConfig
        {
            RouteId = route.Path,
            ClusterId = clusters[0].ClusterId, // replaced per request by the admitted request's cluster
            Match = new RouteMatch { Path = route.Path, Methods = [route.Method] },
            // The caller's API key is the gateway's secret; replicas never see it.
            Transforms = [new Dictionary<string, string> { ["RequestHeaderRemove"] = "Authorization" }],
        }).ToList();
        return (routes, clusters);
    }
}
