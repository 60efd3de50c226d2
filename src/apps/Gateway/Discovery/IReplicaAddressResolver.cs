using System.Net;

namespace Uld.Gateway.Discovery;

/// <summary>Turns a replica service's host name into the addresses of its replicas (DNS in production, fixed in tests).</summary>
public interface IReplicaAddressResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>
/// The system resolver: for a Kubernetes headless Service (or a compose service scaled to N), one A/AAAA record per
/// ready replica.
/// </summary>
public sealed class DnsReplicaAddressResolver : IReplicaAddressResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken);
}
