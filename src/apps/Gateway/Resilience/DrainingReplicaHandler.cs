using System.Net.Http;
using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Resilience;

/// <summary>A replica that is shutting down refused the request before admitting it: nothing was generated.</summary>
public sealed class ReplicaDrainingException(Uri replica)
    : HttpRequestException($"The replica {replica.GetLeftPart(UriPartial.Authority)} is draining and refused the request before admitting it.");

/// <summary>
/// Turns a draining replica's 503 (marked with <see cref="ReplicaDraining.Header"/>) into
/// <see cref="ReplicaDrainingException"/>, so that the forwarder and compare's fan-outs send the request to another
/// replica, as for a refused connection. Sits outside the circuit breaker: a replica going away in order is not failing.
/// </summary>
public sealed class DrainingReplicaHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode != 503
            || !response.Headers.TryGetValues(ReplicaDraining.Header, out var values)
            || !values.Contains(ReplicaDraining.HeaderValue, StringComparer.OrdinalIgnoreCase))
            return response;
        response.Dispose();
        throw new ReplicaDrainingException(request.RequestUri!);
    }
}
