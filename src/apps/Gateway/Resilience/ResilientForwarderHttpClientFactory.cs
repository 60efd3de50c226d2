using System.Collections.Concurrent;
using System.Net.Http;
using Polly;
using Polly.CircuitBreaker;
using Yarp.ReverseProxy.Forwarder;

namespace Uld.Gateway.Resilience;

/// <summary>
/// YARP's outgoing client with a Polly circuit breaker per replica: after repeated transport failures or 5xx from
/// one replica, requests to it fail fast (and are re-routed by <see cref="ForwardingResilienceMiddleware"/>) until a
/// trial request succeeds. No retry happens here: the handler cannot know whether a POST started generating.
/// </summary>
public sealed class ResilientForwarderHttpClientFactory : ForwarderHttpClientFactory
{
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new PerReplicaCircuitBreaker(base.WrapHandler(context, handler));

    private sealed class PerReplicaCircuitBreaker(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _breakers = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var breaker = _breakers.GetOrAdd(request.RequestUri!.GetLeftPart(UriPartial.Authority), _ => Create());
            return await breaker.ExecuteAsync(async ct => await base.SendAsync(request, ct), cancellationToken);
        }

        private static ResiliencePipeline<HttpResponseMessage> Create() => new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(5),
                // Transport failures and server faults count; 4xx, 429 and 503 (a busy, healthy replica) do not.
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .HandleResult(r => (int)r.StatusCode is 500 or 502 or 504),
            })
            .Build();
    }
}
