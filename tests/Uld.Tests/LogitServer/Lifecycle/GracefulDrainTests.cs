using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Lifecycle;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.LogitServer.Lifecycle;

/// <summary>
/// A stopping LogitServer drains: what it admitted (SSE streams included) runs to the end, anything new gets a 503
/// marked as a drain, /health says "draining", and a gateway sends the refused request to another replica.
/// </summary>
[Collection(ServerCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class GracefulDrainTests(ServerFixture fixture)
{
    [Fact]
    public async Task A_stopping_replica_finishes_its_8_streams_refuses_new_requests_and_the_gateway_serves_them_on_the_other()
    {
        // Probes out of the way, so that requests (not a health probe) find the draining replica.
        await using var stack = await GatewayStack.StartAsync(fixture.BaseDirectory, fixture.AssistantDirectory, healthCheckInterval: TimeSpan.FromMinutes(10));
        var replica = stack.Replicas[0];
        using var direct = new HttpClient { BaseAddress = replica.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

        var begun = Enumerable.Range(0, 8).Select(_ => new TaskCompletionSource()).ToArray();
        var streams = Enumerable.Range(0, 8).Select(i => StreamAsync(direct, i, begun[i])).ToArray();
        foreach (var (stream, i) in streams.Select((s, i) => (s, i))) await Task.WhenAny(begun[i].Task, stream);
        Assert.All(streams, s => Assert.False(s.IsFaulted, s.Exception?.ToString()));

        // A lease held by the test keeps the drain open however fast the streams end, so the checks below always
        // run during it.
        var drain = replica.App.Services.GetRequiredService<ReplicaDrain>();
        var held = drain.TryAdmit();
        Assert.NotNull(held);
        var runningAtStop = streams.Count(s => !s.IsCompleted);

        // What SIGTERM does: ApplicationStopping, then the host's stop.
        replica.App.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        Assert.True(drain.IsDraining);
        var stopping = replica.App.StopAsync();

        using (var health = await direct.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal("draining", JsonNode.Parse(await health.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
        }
        var (status, error, response) = await HttpApi.PostAsync(direct, "/v1/chat/completions", HttpApi.Chat("stories", "Lily had a dog", 5));
        Assert.Equal(503, status);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        Assert.Equal(ReplicaDraining.HeaderValue, response.Headers.GetValues(ReplicaDraining.Header).Single());
        Assert.Equal(ReplicaDraining.ErrorCode, error!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("server_error", error["error"]!["type"]!.GetValue<string>());

        // Through the gateway every request succeeds; some were refused by the draining replica and re-sent.
        stack.Recorders[0].Clear();
        using var client = stack.Client();
        for (var i = 0; i < 12; i++)
        {
            var (gatewayStatus, body, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", $"Lily had a dog {i}", 5));
            Assert.True(gatewayStatus == 200, $"request {i}: {gatewayStatus} {body}");
        }
        Assert.NotEmpty(stack.Recorders[0].Requests);
        Assert.Equal(12, stack.Recorders[1].Requests.Count);

        // The admitted streams end normally, each with exactly one [DONE] and no error event.
        var results = await Task.WhenAll(streams);
        Assert.All(results, events =>
        {
            Assert.Equal("[DONE]", events[^1].Data);
            Assert.Single(events, e => e.Data == "[DONE]");
            Assert.DoesNotContain(events, e => e.Event == "error");
            Assert.True(events.Count > 10, $"a stream of {events.Count} events");
        });
        Assert.True(runningAtStop > 0, "every stream had ended before the stop: the drain was not exercised");

        // The host waits for the last admitted request, then stops well inside the grace period.
        await Task.Delay(100);
        Assert.False(stopping.IsCompleted, "the host stopped while an admitted request was still running");
        held.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_request_still_running_at_the_end_of_the_grace_period_does_not_hold_the_stop()
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings["Drain:GracePeriodSeconds"] = "1";
        await using var server = await LogitServerHost.StartAsync(settings);
        var held = server.App.Services.GetRequiredService<ReplicaDrain>().TryAdmit();
        Assert.NotNull(held);
        var clock = Stopwatch.StartNew();
        await server.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 10);
        Assert.Equal(TimeSpan.FromSeconds(1), server.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HostOptions>>().Value.ShutdownTimeout);
        held.Dispose();
    }

    [Fact]
    public async Task A_server_with_nothing_running_stops_at_once()
    {
        await using var server = await LogitServerHost.StartAsync(ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory));
        var clock = Stopwatch.StartNew();
        await server.App.StopAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stop took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("Drain:GracePeriodSeconds", "0")]
    [InlineData("Drain:GracePeriodSeconds", "-5")]
    [InlineData("Drain:GracePeriodSeconds", "soon")]
    [InlineData("Drain:GracePeriod", "30")]
    public async Task A_bad_drain_setting_stops_start_up_naming_the_key(string key, string value)
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings[key] = value;
        var e = await Assert.ThrowsAsync<StartupConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.Contains("Drain", e.Message);
    }

    private static async Task<List<(string? Event, string Data)>> StreamAsync(HttpClient http, int i, TaskCompletionSource begun)
    {
        var body = HttpApi.Chat("stories", $"Once upon a time {i}", 480);
        body["stream"] = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = new List<(string? Event, string Data)>();
        await foreach (var e in HttpApi.ReadEventsAsync(response))
        {
            events.Add(e);
            if (events.Count == 3) begun.TrySetResult();
        }
        begun.TrySetResult();
        return events;
    }
}
