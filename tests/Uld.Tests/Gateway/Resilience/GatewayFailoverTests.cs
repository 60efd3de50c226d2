using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;
using Uld.Tests.Support;

namespace Uld.Tests.Gateway.Resilience;

/// <summary>A replica dies under load: streams on it end cleanly, everything after it still succeeds.</summary>
[Collection(ServerCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class GatewayFailoverTests(ServerFixture fixture)
{
    [Fact]
    public async Task Killing_a_replica_under_load_ends_its_streams_with_an_error_and_later_requests_succeed()
    {
        await using var stack = await GatewayStack.StartAsync(fixture.BaseDirectory, fixture.AssistantDirectory);
        using var client = stack.Client();

        // Load: long streams over both replicas, opened one at a time until there are 8 and each replica serves some
        // (the balancer chooses at random between replicas, so 8 streams opened at once can all land on one); the
        // replica dies once every stream has begun (a request whose response had not started would rightly get a
        // plain 502 instead).
        var streams = new List<Task<List<(string? Event, string Data)>>>();
        while (streams.Count < 8 || stack.Recorders.Any(r => r.Requests.Count == 0))
        {
            Assert.True(streams.Count < 32, "32 streams opened and one replica still received none");
            var begun = new TaskCompletionSource();
            var stream = StreamAsync(streams.Count, begun);
            streams.Add(stream);
            await Task.WhenAny(begun.Task, stream); // a stream that fails to open fails the test below, not hangs it
        }
        await Task.Delay(20);
        stack.Relays[0].Kill();

        var results = await Task.WhenAll(streams);
        Assert.All(results, events => Assert.Equal("[DONE]", events[^1].Data));
        var broken = results.Where(events => events.Any(e => e.Event == "error")).ToList();
        Assert.NotEmpty(broken); // some streams were on the killed replica…
        Assert.Contains(results, events => events.All(e => e.Event is null)); // …and the others finished normally
        Assert.All(broken, events =>
        {
            Assert.Equal("error", events[^2].Event);
            Assert.Equal("upstream_failed", JsonNode.Parse(events[^2].Data)!["error"]!["code"]!.GetValue<string>());
        });

        // After the failure every request succeeds: connection failures are re-sent to the live replica.
        var later = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "Lily had a dog", 5))));
        Assert.All(later, r => Assert.Equal(200, r.Status));

        async Task<List<(string? Event, string Data)>> StreamAsync(int i, TaskCompletionSource begun)
        {
            var body = HttpApi.Chat("stories", $"Once upon a time {i}", 480);
            body["stream"] = true;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var events = new List<(string? Event, string Data)>();
            await foreach (var e in HttpApi.ReadEventsAsync(response))
            {
                events.Add(e);
                if (events.Count == 3) begun.TrySetResult();
            }
            begun.TrySetResult(); // a stream shorter than three events has begun and ended
            return events;
        }
    }

    [Fact]
    public async Task With_every_replica_down_requests_get_502_until_the_circuits_open_then_503_with_retry_after()
    {
        // Health probes out of the way after the one at start-up (their failures would open the circuits on their own
        // clock): wait for that probe's success, then only these requests count. A circuit opens once it has seen 4
        // outcomes, half of them failures; each request is refused by both replicas, one failure per circuit.
        await using var stack = await GatewayStack.StartAsync(fixture.BaseDirectory, fixture.AssistantDirectory, healthCheckInterval: TimeSpan.FromMinutes(10));
        var proxy = stack.Gateway.Services.GetRequiredService<IProxyStateLookup>();
        Assert.True(proxy.TryGetCluster("stories-pool", out var cluster));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cluster.DestinationsState.AllDestinations.Any(d => d.Health.Active != DestinationHealth.Healthy) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.All(cluster.DestinationsState.AllDestinations, d => Assert.Equal(DestinationHealth.Healthy, d.Health.Active));

        foreach (var relay in stack.Relays) relay.Kill();
        using var client = stack.Client();
        for (var i = 1; i <= 3; i++)
        {
            var (status, error, response) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "hi", 3));
            Assert.True(status == 502, $"request {i}: {status} {error}");
            Assert.Equal("server_error", error!["error"]!["type"]!.GetValue<string>());
            Assert.Equal("bad_gateway", error["error"]!["code"]!.GetValue<string>());
            Assert.Null(response.Headers.RetryAfter);
        }
        for (var i = 4; i <= 5; i++)
        {
            var (status, error, response) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "hi", 3));
            Assert.True(status == 503, $"request {i}: {status} {error}");
            Assert.Equal("server_error", error!["error"]!["type"]!.GetValue<string>());
            Assert.Equal("server_overloaded", error["error"]!["code"]!.GetValue<string>());
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        }
    }
}
