using System.Net.Http;
using Polly.CircuitBreaker;
using Uld.Gateway.Resilience;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Uld.Gateway.Api;

/// <summary>
/// Requests the gateway itself sends to replicas (compare's fan-outs), with YARP's view of replica health and the
/// same per-replica circuit breakers as forwarded requests. Like the forwarder, a request is re-sent to another replica
/// only when it never reached the first (connection refused, circuit open, or a draining replica's refusal).
/// </summary>
public sealed class ReplicaClient(IProxyStateLookup proxyState, IHttpClientFactory httpClients)
{
    public const string HttpClientName = "replicas";

    /// <summary>Replicas of a cluster YARP would route to, in random order (the order tried on failure).</summary>
    public IReadOnlyList<DestinationState> AvailableReplicas(string clusterId) =>
        proxyState.TryGetCluster(clusterId, out var cluster)
            ? cluster.DestinationsState.AvailableDestinations.OrderBy(_ => Random.Shared.Next()).ToList()
            : [];

    /// <summary>The first response a replica gives, or null when none could be reached.</summary>
    public async Task<HttpResponseMessage?> PostAsync(string clusterId, string path, Func<HttpContent> content, CancellationToken cancellationToken)
    {
        using var http = httpClients.CreateClient(HttpClientName);
        foreach (var replica in AvailableReplicas(clusterId))
        {
            try
            {
                using var body = content();
                return await http.PostAsync(new Uri(new Uri(replica.Model.Config.Address), path), body, cancellationToken);
            }
            catch (Exception e) when (e is BrokenCircuitException or ReplicaDrainingException or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError })
            {
                // Not one byte reached that replica: the next one gets the request.
            }
        }
        return null;
    }
}
