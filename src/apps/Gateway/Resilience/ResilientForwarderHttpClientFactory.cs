using System.Net.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Uld.Gateway.Resilience;

/// <summary>
/// YARP's outgoing client behind the shared per-replica circuit breakers, with a draining replica's refusal surfaced
/// as <see cref="ReplicaDrainingException"/>; both are re-routed to another replica by
/// <see cref="ForwardingResilienceMiddleware"/>.
/// </summary>
public sealed class ResilientForwarderHttpClientFactory(ReplicaCircuitBreakers breakers) : ForwarderHttpClientFactory
{
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new DrainingReplicaHandler { InnerHandler = new ReplicaCircuitBreakerHandler(breakers) { InnerHandler = base.WrapHandler(context, handler) } };
}
