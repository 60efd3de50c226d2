using System.Collections.Concurrent;
using System.Net.Http;
using Polly;
using Polly.CircuitBreaker;

namespace Uld.Gateway.Resilience;

/// <summary>
/// One Polly circuit breaker per replica, shared by everything that sends requests to replicas (YARP's forwarder and
/// compare's fan-outs): after repeated transport failures or 5xx from one replica, requests to it fail fast until a
/// trial request succeeds. No retry happens here: a handler cannot know whether a POST started generating.
/// </summary>
public sealed class ReplicaCircuitBreakers
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _breakers = new();

    public ResiliencePipeline<HttpResponseMessage> For(Uri replica) =>
        _breakers.GetOrAdd(replica.GetLeftPart(UriPartial.Authority), _ => Create());

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

/// <summary>Sends each request through its replica's breaker (<see cref="BrokenCircuitException"/> when open).</summary>
public sealed class ReplicaCircuitBreakerHandler(ReplicaCircuitBreakers breakers) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        await breakers.For(request.RequestUri!).ExecuteAsync(async ct => await base.SendAsync(request, ct), cancellationToken);
}
