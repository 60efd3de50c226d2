using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Uld.Inference.Sampling;
using Uld.LogitServer.Admission;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;
using Uld.LogitServer.Streaming;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.LogitServer.Streaming;

/// <summary>
/// A choice that fails mid-stream ends the whole SSE response with one error event and exactly one [DONE]; the other
/// choices are cancelled. A healthy engine never fails, so the sequences are fed by hand; the HTTP side is real.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StreamFailureTests(ServerFixture fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_choice_failing_mid_way_ends_the_stream_with_one_error_and_one_done(bool includeUsage)
    {
        var services = fixture.Server.App.Services;
        using var lease = services.GetRequiredService<DeploymentRegistry>().Acquire("stories");
        var request = new AdmittedRequest
        {
            Deployment = lease.Deployment, Scheduler = lease.Scheduler, Prompt = [1, 403],
            N = 3, MaxTokens = 10, Stop = [], Sampling = new SamplingParameters(SamplingSettings.Greedy, 0, 0, 0), Stream = true, IncludeUsage = includeUsage,
        };
        var sequences = Enumerable.Range(0, 3).Select(_ => new Sequence(request.Prompt, request.Sampling, request.MaxTokens)).ToList();
        var outcome = new RequestOutcome("test");

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/stream", (HttpContext context) => SseResponse.WriteAsync(context.Response, SequenceStream.Over(request, sequences), outcome,
            new SseResponse.Format(index => new { opening = index }, e => e is ChoiceText t ? new { index = t.Index, text = t.Text } : null, usage => usage),
            context.RequestAborted));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        sequences[0].Emit(new TokenEvent(403, -1, []));
        sequences[1].Emit(new TokenEvent(407, -1, []));
        sequences[2].Complete(new FinishedEvent("stop"));
        sequences[1].Complete(new FailedEvent("the engine failed while generating: test"));
        var events = new List<(string? Event, string Data)>();
        using (var response = await http.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead))
        {
            await foreach (var e in HttpApi.ReadEventsAsync(response)) events.Add(e);
        }

        Assert.Single(events, e => e.Data == "[DONE]");
        Assert.Equal("[DONE]", events[^1].Data);
        var error = Assert.Single(events, e => e.Event == "error");
        Assert.Equal("server_error", JsonNode.Parse(error.Data)!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(3, events.Count(e => e.Data.Contains("opening", StringComparison.Ordinal)));
        Assert.DoesNotContain(events, e => e.Data.Contains("prompt_tokens", StringComparison.Ordinal)); // no usage after a failure
        Assert.True(sequences[0].IsCancelled, "the choice still running is cancelled");
        Assert.Equal(500, outcome.Status);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    public async Task Every_choice_finishes_and_the_stream_ends_with_one_done(string path)
    {
        var body = path.Contains("chat", StringComparison.Ordinal) ? HttpApi.Chat("stories-uld", "Once upon a time", 6) : new JsonObject
        {
            ["model"] = "stories-uld", ["prompt"] = "Once upon a time", ["max_tokens"] = 6, ["temperature"] = 0,
        };
        body["n"] = 3;
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        using var response = await fixture.Server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = new List<string>();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response)) events.Add(data);

        Assert.Single(events, e => e == "[DONE]");
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var finished = chunks.SelectMany(c => c["choices"]!.AsArray()).Where(c => c!["finish_reason"] is not null)
            .Select(c => (c!["index"]!.GetValue<int>(), c["finish_reason"]!.GetValue<string>())).Order().ToList();
        Assert.Equal([(0, "length"), (1, "length"), (2, "length")], finished);
        Assert.Equal(18, chunks[^1]["usage"]!["completion_tokens"]!.GetValue<int>());
    }
}
