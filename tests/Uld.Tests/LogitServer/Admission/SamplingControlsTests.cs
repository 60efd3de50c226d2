using System.Text;
using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Admission;

/// <summary>The sampling controls through a running LogitServer: both endpoints, streamed and not, with n &gt; 1.</summary>
[Collection(ServerCollection.Name)]
public sealed class SamplingControlsTests(ServerFixture fixture)
{
    private HttpClient Http => fixture.Server.Http;

    private static JsonObject Request(string endpoint, string model, string prompt, int maxTokens, double temperature) => endpoint == "chat"
        ? HttpApi.Chat(model, prompt, maxTokens, temperature)
        : new JsonObject { ["model"] = model, ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = temperature };

    private static string PathOf(string endpoint) => endpoint == "chat" ? "/v1/chat/completions" : "/v1/completions";

    /// <summary>Every choice's generated tokens, as logprobs list them (exact, unlike decoded text).</summary>
    private async Task<List<string[]>> TokensAsync(string endpoint, JsonObject body)
    {
        body = (JsonObject)body.DeepClone();
        body["logprobs"] = endpoint == "chat" ? true : 0;
        var (status, response, _) = await HttpApi.PostAsync(Http, PathOf(endpoint), body);
        Assert.True(status == 200, response?.ToJsonString());
        return response!["choices"]!.AsArray().Select(c => endpoint == "chat"
            ? c!["logprobs"]!["content"]!.AsArray().Select(t => t!["token"]!.GetValue<string>()).ToArray()
            : c!["logprobs"]!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray()).ToList();
    }

    /// <summary>Every choice's text, non-streamed or assembled from the stream's chunks.</summary>
    private async Task<string[]> TextsAsync(string endpoint, JsonObject body, bool stream)
    {
        body = (JsonObject)body.DeepClone();
        var n = body["n"]?.GetValue<int>() ?? 1;
        if (!stream)
        {
            var (status, response, _) = await HttpApi.PostAsync(Http, PathOf(endpoint), body);
            Assert.True(status == 200, response?.ToJsonString());
            return [.. Enumerable.Range(0, n).Select(i => endpoint == "chat" ? HttpApi.ContentOf(response, i) : response!["choices"]![i]!["text"]!.GetValue<string>())];
        }
        body["stream"] = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, PathOf(endpoint)) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var message = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var texts = Enumerable.Range(0, n).Select(_ => new StringBuilder()).ToArray();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(message))
        {
            if (data == "[DONE]") break;
            foreach (var choice in JsonNode.Parse(data)!["choices"]!.AsArray())
            {
                var piece = endpoint == "chat" ? choice!["delta"]!["content"]?.GetValue<string>() : choice!["text"]!.GetValue<string>();
                texts[choice!["index"]!.GetValue<int>()].Append(piece);
            }
        }
        return [.. texts.Select(t => t.ToString())];
    }

    private async Task<int> TokenIdAsync(string text)
    {
        var (_, body, _) = await HttpApi.PostAsync(Http, "/tokenize", new JsonObject { ["model"] = "stories", ["prompt"] = text, ["add_special_tokens"] = false });
        var ids = body!["tokens"]!.AsArray();
        Assert.Single(ids);
        return ids[0]!.GetValue<int>();
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("completions")]
    public async Task A_bias_of_100_makes_every_sampled_token_that_token_streamed_or_not(string endpoint)
    {
        var forced = await TokenIdAsync("the");
        var body = Request(endpoint, "stories", "Once upon a time", 12, temperature: 1);
        body["n"] = 2;
        body["seed"] = 5;
        body["logit_bias"] = new JsonObject { [forced.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100 };

        var choices = await TokensAsync(endpoint, body);
        Assert.Equal(2, choices.Count);
        Assert.All(choices, tokens => Assert.Equal(Enumerable.Repeat("the", 12), tokens.Select(t => t.Trim())));
        Assert.Equal(await TextsAsync(endpoint, body, stream: false), await TextsAsync(endpoint, body, stream: true));
    }

    [Fact]
    public async Task A_bias_cannot_bring_back_a_token_the_uld_filter_masked()
    {
        // r = 1 keeps only the base's most likely token at each step, so the answer is fixed whatever the bias.
        var body = HttpApi.Chat("stories-uld", "Once upon a time", 12);
        body["uld_relative_top"] = 1.0;
        var plain = await TextsAsync("chat", body, stream: false);
        body["logit_bias"] = new JsonObject { [(await TokenIdAsync("the")).ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100 };
        Assert.Equal(plain, await TextsAsync("chat", body, stream: false));
    }

    [Theory]
    [InlineData("chat", "presence_penalty", 2.0)]
    [InlineData("chat", "frequency_penalty", 2.0)]
    [InlineData("completions", "presence_penalty", 2.0)]
    [InlineData("completions", "repetition_penalty", 1.8)]
    public async Task A_large_penalty_changes_a_greedy_answer_and_repeats_less(string endpoint, string field, double value)
    {
        var body = Request(endpoint, "stories", "Once upon a time", 40, temperature: 0);
        var greedy = (await TokensAsync(endpoint, body))[0];
        body[field] = value;
        var penalised = (await TokensAsync(endpoint, body))[0];
        Assert.NotEqual(greedy, penalised);
        Assert.Equal(penalised, (await TokensAsync(endpoint, body))[0]); // still deterministic
        Assert.True(penalised.Distinct().Count() > greedy.Distinct().Count(),
            $"{field} should spread the answer over more distinct tokens: {greedy.Distinct().Count()} vs {penalised.Distinct().Count()}");
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("completions")]
    public async Task A_seed_gives_the_same_choices_alone_in_a_batch_and_streamed(string endpoint)
    {
        var body = Request(endpoint, "stories-uld", "Lily had a dog", 24, temperature: 1);
        body["seed"] = 99;
        body["n"] = 3;
        body["top_k"] = 40;
        body["min_p"] = 0.02;
        body["frequency_penalty"] = 0.4;
        var alone = await TextsAsync(endpoint, body, stream: false);
        Assert.True(alone.Distinct().Count() >= 2, "the choices of one request should differ");

        var others = Enumerable.Range(0, 8)
            .Select(i => (Task)HttpApi.PostAsync(Http, PathOf(endpoint), Request(endpoint, "stories-uld", $"Tom saw {i} birds", 30, temperature: 1))).ToList();
        var batched = TextsAsync(endpoint, body, stream: false);
        var streamed = TextsAsync(endpoint, body, stream: true);
        await Task.WhenAll(others.Append(batched).Append(streamed));
        Assert.Equal(alone, await batched);
        Assert.Equal(alone, await streamed);

        body["seed"] = 100;
        Assert.NotEqual(alone, await TextsAsync(endpoint, body, stream: false));
    }

    [Theory]
    [InlineData("\"frequency_penalty\":2.5", "frequency_penalty", "decimal_above_max_value", "Invalid 'frequency_penalty': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.")]
    [InlineData("\"presence_penalty\":-3", "presence_penalty", "decimal_below_min_value", "Invalid 'presence_penalty': decimal below minimum value. Expected a value >= -2, but got -3 instead.")]
    [InlineData("\"logit_bias\":{\"5\":-101}", "logit_bias", "decimal_below_min_value", null)]
    [InlineData("\"logit_bias\":{\"the\":1}", "logit_bias", "invalid_logit_bias", null)]
    [InlineData("\"logit_bias\":{\"512\":1}", "logit_bias", "invalid_logit_bias", null)] // stories260K has 512 tokens
    [InlineData("\"logit_bias\":{\"-1\":1}", "logit_bias", "invalid_logit_bias", null)]
    [InlineData("\"logit_bias\":{\"5\":1,\"05\":1}", "logit_bias", "invalid_logit_bias", null)]
    [InlineData("\"logit_bias\":{\"5\":\"1\"}", "logit_bias.5", null, null)]
    [InlineData("\"top_k\":-2", "top_k", "integer_below_min_value", null)]
    [InlineData("\"min_p\":1.5", "min_p", "decimal_above_max_value", null)]
    [InlineData("\"repetition_penalty\":0", "repetition_penalty", "decimal_below_min_value", null)]
    [InlineData("\"guided_json\":{\"type\":\"object\"}", "guided_json", "unsupported_parameter", null)]
    // stories260K's chat template takes no tools: honoured fields, refused for this model.
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools", null, "This model's chat template does not take tools, so it cannot be given 'tools'.")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\",\"schema\":{\"format\":\"email\"}}}", "response_format", null, null)]
    public async Task Out_of_range_and_unsupported_values_are_400s_in_the_official_shape(string fields, string param, string? code, string? message)
    {
        var (status, error, _) = await HttpApi.PostRawAsync(Http, "/v1/chat/completions",
            $$"""{"model":"stories","messages":[{"role":"user","content":"hi"}],{{fields}}}""");
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(param, error["error"]!["param"]!.GetValue<string>());
        Assert.Equal(code, error["error"]!["code"]?.GetValue<string>());
        if (message is not null) Assert.Equal(message, error["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_image_part_is_refused_and_neutral_defaults_are_served()
    {
        var image = HttpApi.Chat("stories", "hi", 5);
        image["messages"] = JsonNode.Parse("""[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]""");
        var (status, error, _) = await HttpApi.PostAsync(Http, "/v1/chat/completions", image);
        Assert.Equal(400, status);
        Assert.Equal(("messages[0].content[1]", "unsupported_parameter"), (error!["error"]!["param"]!.GetValue<string>(), error["error"]!["code"]!.GetValue<string>()));

        // What SDKs send by default changes nothing: the same greedy answer as without it.
        var plain = HttpApi.Chat("stories", "Once upon a time", 10);
        var defaults = (JsonObject)plain.DeepClone();
        foreach (var (key, value) in JsonNode.Parse("""
            {"frequency_penalty":0,"presence_penalty":0,"logit_bias":{},"top_p":1,"n":1,"store":false,"parallel_tool_calls":true,
             "tool_choice":"none","tools":[],"response_format":{"type":"text"},"service_tier":"auto","metadata":{"k":"v"},"user":"u",
             "top_k":-1,"min_p":0,"repetition_penalty":1,"modalities":["text"],"stream_options":null}
            """)!.AsObject()) defaults[key] = value?.DeepClone();
        Assert.Equal(await TextsAsync("chat", plain, stream: false), await TextsAsync("chat", defaults, stream: false));
    }
}
