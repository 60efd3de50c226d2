using System.Net;
using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Api;

/// <summary>Completions scoring, stop strings, streaming shape, and OpenAI-shaped errors.</summary>
[Collection(ServerCollection.Name)]
public sealed class ApiContractTests(ServerFixture fixture)
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task Completions_echo_with_logprobs_scores_the_prompt()
    {
        async Task<double[]> Score(string text)
        {
            var (status, body, _) = await HttpApi.PostAsync(Http, "/v1/completions", new JsonObject
            {
                ["model"] = "stories", ["prompt"] = text, ["echo"] = true, ["logprobs"] = 2, ["max_tokens"] = 0,
            });
            Assert.Equal(200, status);
            var choice = body!["choices"]![0]!;
            Assert.Equal(text, choice["text"]!.GetValue<string>());
            Assert.Equal(text, string.Concat(choice["logprobs"]!["tokens"]!.AsArray().Select(t => t!.GetValue<string>())).TrimStart());
            return choice["logprobs"]!["token_logprobs"]!.AsArray().Select(t => t!.GetValue<double>()).ToArray();
        }

        var fluent = await Score("Once upon a time, there was a little girl named Lily.");
        var scrambled = await Score("Lily named girl little a was there, time a upon Once.");
        Assert.All(fluent, lp => Assert.True(lp <= 0));
        Assert.True(fluent.Average() > scrambled.Average() + 2, $"fluent {fluent.Average()} vs scrambled {scrambled.Average()}");
    }

    [Fact]
    public async Task Tokenize_gives_the_ids_that_token_prompts_score_exactly_like_text_prompts()
    {
        const string text = "Once upon a time, there was a little girl named Lily.";
        var (status, tokenized, _) = await HttpApi.PostAsync(Http, "/tokenize", new JsonObject { ["model"] = "stories", ["prompt"] = text });
        Assert.Equal(200, status);
        var ids = tokenized!["tokens"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray();
        Assert.Equal(1, ids[0]); // BOS
        Assert.Equal(ids.Length, tokenized["count"]!.GetValue<int>());

        async Task<double[]> Score(JsonNode prompt)
        {
            var (s, body, _) = await HttpApi.PostAsync(Http, "/v1/completions", new JsonObject
            {
                ["model"] = "stories", ["prompt"] = prompt, ["echo"] = true, ["logprobs"] = 0, ["max_tokens"] = 0,
            });
            Assert.Equal(200, s);
            Assert.Equal(text, body!["choices"]![0]!["text"]!.GetValue<string>().TrimStart());
            return body["choices"]![0]!["logprobs"]!["token_logprobs"]!.AsArray().Select(t => t!.GetValue<double>()).ToArray();
        }
        Assert.Equal(await Score(JsonValue.Create(text)), await Score(new JsonArray(ids.Select(i => (JsonNode)i).ToArray())));

        var (_, detok, _) = await HttpApi.PostAsync(Http, "/detokenize", new JsonObject { ["model"] = "stories", ["tokens"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()) });
        Assert.Equal(text, detok!["prompt"]!.GetValue<string>().TrimStart());

        // Chat messages are rendered with the deployment's template, exactly like /v1/chat/completions does.
        var (_, chat, _) = await HttpApi.PostAsync(Http, "/tokenize", new JsonObject
        {
            ["model"] = "stories", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Who is Lily?" }),
        });
        Assert.True(chat!["count"]!.GetValue<int>() > 3);

        var (badStatus, bad, _) = await HttpApi.PostAsync(Http, "/v1/completions", new JsonObject { ["model"] = "stories", ["prompt"] = new JsonArray(1, 999999) });
        Assert.Equal(400, badStatus);
        Assert.Equal("prompt", bad!["error"]!["param"]!.GetValue<string>());
        var (missing, _, _) = await HttpApi.PostAsync(Http, "/tokenize", new JsonObject { ["model"] = "nope", ["prompt"] = "x" });
        Assert.Equal(404, missing);
    }

    [Fact]
    public async Task Completions_continue_the_prompt_with_its_spacing()
    {
        var (_, body, _) = await HttpApi.PostAsync(Http, "/v1/completions", new JsonObject
        {
            ["model"] = "stories", ["prompt"] = "Once upon a time,", ["max_tokens"] = 12, ["temperature"] = 0,
        });
        Assert.StartsWith(" there was a little girl", body!["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("length", body["choices"]![0]!["finish_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stop_strings_end_the_answer_before_the_stop()
    {
        var body = HttpApi.Chat("stories", "Once upon a time", 60);
        body["stop"] = new JsonArray("Lily");
        var (_, response, _) = await HttpApi.PostAsync(Http, "/v1/chat/completions", body);
        var content = HttpApi.ContentOf(response);
        Assert.DoesNotContain("Lily", content);
        Assert.EndsWith("named ", content);
        Assert.Equal("stop", response!["choices"]![0]!["finish_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stream_chunks_share_an_id_start_with_the_role_and_end_with_usage_and_done()
    {
        var body = HttpApi.Chat("stories-uld", "Once upon a time", 10);
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);

        var events = new List<string>();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response)) events.Add(data);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.Single(chunks.Select(c => c["id"]!.GetValue<string>()).Distinct());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));
        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        Assert.Equal("length", chunks[^2]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(10, chunks[^1]["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(1.0, chunks[^1]["uld_alpha"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("{not json", 400, null, null)]
    [InlineData("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", 400, "temperature", null)]
    [InlineData("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", 400, "max_tokens", null)]
    [InlineData("""{"model":"stories","messages":[]}""", 400, "messages", null)]
    [InlineData("""{"model":"stories","messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages", null)]
    [InlineData("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"top_p":0}""", 400, "top_p", null)]
    [InlineData("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"max_tokens":600}""", 400, "messages", "context_length_exceeded")]
    [InlineData("""{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "model_not_found")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", 400, "model", null)]
    public async Task Bad_requests_get_openai_shaped_errors(string body, int status, string? param, string? code)
    {
        var (actual, error, _) = await HttpApi.PostRawAsync(Http, "/v1/chat/completions", body);
        Assert.Equal(status, actual);
        Assert.False(string.IsNullOrWhiteSpace(error!["error"]!["message"]!.GetValue<string>()));
        // Every one of these is the client's mistake: OpenAI's "invalid_request_error", never a server_error.
        Assert.Equal("invalid_request_error", error["error"]!["type"]!.GetValue<string>());
        Assert.Equal(param, error["error"]!["param"]?.GetValue<string>());
        Assert.Equal(code, error["error"]!["code"]?.GetValue<string>());
    }

    [Fact]
    public async Task Context_overflow_says_so()
    {
        var (_, error, _) = await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 600));
        Assert.Equal("context_length_exceeded", error!["error"]!["code"]!.GetValue<string>());
        Assert.Contains("512", error["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Oversized_bodies_are_413()
    {
        var body = HttpApi.Chat("stories", new string('a', 5 * 1024 * 1024), 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        // As curl does for large uploads: the server answers before the body is sent.
        request.Headers.ExpectContinue = true;
        using var response = await Http.SendAsync(request);
        Assert.Equal(413, (int)response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", error!["error"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_and_metrics_report_the_engine()
    {
        await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 3));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health")).StatusCode);
        var metrics = await Http.GetStringAsync("/metrics");
        Assert.Contains("uld_generated_tokens_total{deployment=\"stories\"}", metrics);
        Assert.Contains("uld_time_to_first_token_seconds_bucket{deployment=\"stories\"", metrics);
        Assert.Contains("uld_batch_size_bucket", metrics);
        Assert.Contains("uld_queue_depth", metrics);
    }
}
