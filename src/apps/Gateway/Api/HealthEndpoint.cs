using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Uld.Gateway.Policy;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Uld.Gateway.Api;

/// <summary>
/// GET /health: per cluster, how many replicas pass the health probes and whether each deployment's α policy is known;
/// 200 while some cluster has a healthy replica, 503 when none has.
/// </summary>
public static class HealthEndpoint
{
    public static IResult Handle(IOptions<GatewayOptions> options, IProxyStateLookup proxyState, DeploymentPolicyRegistry policies)
    {
        var clusters = new JsonObject();
        var anyHealthy = false;
        foreach (var (id, cluster) in options.Value.Clusters)
        {
            var destinations = proxyState.TryGetCluster(id, out var state) ? state.DestinationsState.AllDestinations : [];
            var healthy = destinations.Count(IsHealthy);
            anyHealthy |= healthy > 0;
            var deployments = new JsonObject();
            foreach (var model in cluster.Models) deployments[model] = policies.Lookup(id, model).State.ToString().ToLowerInvariant();
            clusters[id] = new JsonObject
            {
                ["healthy"] = healthy > 0,
                ["healthy_replicas"] = healthy,
                ["replicas"] = destinations.Count,
                ["policies"] = deployments,
            };
        }
        var body = new JsonObject { ["status"] = anyHealthy ? "ok" : "unavailable", ["clusters"] = clusters };
        return Results.Json(body, statusCode: anyHealthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Passed its last active probe and not marked failing by passive tracking.</summary>
    private static bool IsHealthy(DestinationState destination) =>
        destination.Health.Active == DestinationHealth.Healthy && destination.Health.Passive != DestinationHealth.Unhealthy;
}
