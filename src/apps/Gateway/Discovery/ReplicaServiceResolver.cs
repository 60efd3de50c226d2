using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Uld.Gateway.Discovery;

/// <summary>
/// YARP's destination resolver for clusters configured with a <see cref="ClusterOptions.ReplicaService"/>: the
/// service's host name is resolved every <see cref="GatewayOptions.DnsRefreshInterval"/>, and each address becomes one
/// destination (same scheme and port), which YARP then balances, probes (/health) and tracks like a listed replica. An
/// address that stays keeps its destination name, so its health state carries over a refresh; one that goes (a pod
/// deleted, or no longer ready) leaves the pool. A failed lookup — a headless Service with no ready pod answers
/// NXDOMAIN — leaves the cluster without replicas until a later lookup finds some. Destinations that are not service
/// placeholders pass through unchanged.
/// </summary>
public sealed class ReplicaServiceResolver(IReplicaAddressResolver resolver, IOptions<GatewayOptions> options, ILogger<ReplicaServiceResolver> logger)
    : IDestinationResolver
{
    /// <summary>Metadata key marking a destination as a replica service to expand (its address is the service URL).</summary>
    public const string ServiceMetadata = "uld.replica-service";

    public async ValueTask<ResolvedDestinationCollection> ResolveDestinationsAsync(IReadOnlyDictionary<string, DestinationConfig> destinations, CancellationToken cancellationToken)
    {
        if (!destinations.Values.Any(IsService)) return new ResolvedDestinationCollection(destinations, null);

        var resolved = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, destination) in destinations)
        {
            if (!IsService(destination))
            {
                resolved[name] = destination;
                continue;
            }
            var service = new Uri(destination.Address);
            foreach (var address in await ResolveAsync(service, cancellationToken))
            {
                var replica = new UriBuilder(service) { Host = address.ToString() }.Uri; // UriBuilder brackets IPv6
                resolved[$"{name}/{address}"] = new DestinationConfig { Address = replica.ToString(), Health = destination.Health };
            }
        }
        // Re-resolve after the interval: YARP calls again when the token fires and applies the difference.
        var refresh = new CancellationTokenSource(options.Value.DnsRefreshInterval);
        return new ResolvedDestinationCollection(resolved, new CancellationChangeToken(refresh.Token));
    }

    private async Task<IReadOnlyList<IPAddress>> ResolveAsync(Uri service, CancellationToken cancellationToken)
    {
        try
        {
            var addresses = await resolver.ResolveAsync(service.IdnHost, cancellationToken);
            var distinct = addresses.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Distinct().OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
            if (distinct.Count == 0) logger.LogWarning("Replica service {Service} resolved to no address; no replica serves its cluster for now", service.Host);
            return distinct;
        }
        catch (Exception e) when (e is SocketException or ArgumentException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Replica service {Service} could not be resolved ({Reason}); no replica serves its cluster until it resolves", service.Host, e.Message);
            return [];
        }
    }

    private static bool IsService(DestinationConfig destination) =>
        destination.Metadata?.TryGetValue(ServiceMetadata, out var value) == true && value == "true";
}
