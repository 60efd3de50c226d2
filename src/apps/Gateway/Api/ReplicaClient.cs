using Yarp.ReverseProxy;

namespace Uld.Gateway.Api;

/// <summary>Direct calls from the gateway itself to replicas (model listing, compare), using YARP's view of their health.</summary>
public sealed class ReplicaClient(IProxyStateLookup proxyState, IHttpClientFactory httpClients)
{
    public const string HttpClientName = "replicas";

    public HttpClient Http => httpClients.CreateClient(HttpClientName);

    /// <summary>Healthy replica addresses of a cluster, in random order (the order tried on failure).</summary>
    public IReadOnlyList<Uri> HealthyReplicas(string clusterId)
    {
        if (!proxyState.TryGetCluster(clusterId, out var cluster)) return [];
        var healthy = cluster.DestinationsState.AvailableDestinations;
        var pool = healthy.Count > 0 ? healthy : cluster.DestinationsState.AllDestinations;
        return pool.Select(d => new Uri(d.Model.Config.Address)).OrderBy(_ => Random.Shared.Next()).ToList();
    }

    public IEnumerable<string> ClusterIds => proxyState.GetClusters().Select(c => c.ClusterId);
}
