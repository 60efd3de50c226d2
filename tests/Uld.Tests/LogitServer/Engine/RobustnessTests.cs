using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Engine;

/// <summary>Overload, disconnects and shutdown, each against a real server on loopback.</summary>
[Collection(ServerCollection.Name)]
public sealed class RobustnessTests(ServerFixture fixture)
{
    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after()
    {
        await using var server = await LogitServerHost.StartAsync(ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory, maxBatch: 1, maxQueued: 1));
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 300))));

        var rejected = responses.Where(r => r.Status == 503).ToList();
        Assert.NotEmpty(rejected);
        Assert.Contains(responses, r => r.Status == 200);
        Assert.All(rejected, r =>
        {
            Assert.Equal("1", r.Response.Headers.RetryAfter!.ToString());
            Assert.Equal("server_error", r.Body!["error"]!["type"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task A_client_that_disconnects_frees_its_slot()
    {
        var http = fixture.Server.Http;
        var body = HttpApi.Chat("stories", "Once upon a time", 480);
        body["stream"] = true;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") })
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            var seen = 0;
            await foreach (var _ in HttpApi.ReadEventsAsync(response))
            {
                if (++seen == 5) break; // leave mid-stream
            }
            Assert.Equal(5, seen);
        }

        var deadline = DateTime.UtcNow.AddSeconds(5);
        string active;
        do
        {
            await Task.Delay(50);
            active = (await http.GetStringAsync("/metrics")).Split('\n').First(l => l.StartsWith("uld_active_sequences{deployment=\"stories\"}", StringComparison.Ordinal));
        } while (!active.EndsWith(" 0", StringComparison.Ordinal) && DateTime.UtcNow < deadline);
        Assert.EndsWith(" 0", active);

        var generated = GeneratedTokens(await http.GetStringAsync("/metrics"));
        await Task.Delay(300);
        Assert.Equal(generated, GeneratedTokens(await http.GetStringAsync("/metrics"))); // nothing is generated for a client who left
    }

    [Fact]
    [Trait(Category.Name, Category.Slow)]
    public async Task Shutdown_drains_generations_in_flight()
    {
        var server = await LogitServerHost.StartAsync(ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory));
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var body = HttpApi.Chat("stories-uld", "Once upon a time", 480);
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Task? stopping = null;
        var events = new List<string>();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response))
        {
            events.Add(data);
            if (events.Count == 3) stopping = server.App.StopAsync(); // shut down mid-generation
        }
        await stopping!;
        await server.DisposeAsync();

        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(480, JsonNode.Parse(events[^2])!["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    private static double GeneratedTokens(string metrics) => double.Parse(
        metrics.Split('\n').First(l => l.StartsWith("uld_generated_tokens_total{deployment=\"stories\"}", StringComparison.Ordinal)).Split(' ')[1],
        System.Globalization.CultureInfo.InvariantCulture);
}
