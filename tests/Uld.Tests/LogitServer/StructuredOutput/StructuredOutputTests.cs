using System.Text;
using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.StructuredOutput;

/// <summary>
/// response_format through LogitServer on stories260K (a real trained model with a 512-token byte-fallback
/// vocabulary): every json_schema response of the test set parses and validates, streamed or not, with n &gt; 1, on the
/// plain and the ULD deployment; no logit_bias undoes the mask; unsupported schemas and the completions endpoint are
/// refused.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StructuredOutputTests(ServerFixture fixture)
{
    private static JsonObject Request(string model, string schemaName, string schema, int n = 2, bool stream = false) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" }),
        ["max_tokens"] = 400,
        ["temperature"] = 1,
        ["seed"] = 26,
        ["n"] = n,
        ["stream"] = stream,
        ["response_format"] = new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject { ["name"] = schemaName, ["schema"] = JsonNode.Parse(schema), ["strict"] = true },
        },
    };

    public static TheoryData<string> Models => new() { "stories", "stories-uld" };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Every_json_schema_response_parses_and_validates(string model)
    {
        var responses = 0;
        foreach (var (name, schema) in StructuredOutputSchemas.All)
        {
            var (status, body, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", Request(model, name, schema));
            Assert.True(status == 200, body?.ToJsonString());
            foreach (var choice in body!["choices"]!.AsArray())
            {
                var text = choice!["message"]!["content"]!.GetValue<string>();
                Assert.True(choice["finish_reason"]!.GetValue<string>() == "stop", $"{name}: {text}");
                Assert.True(StructuredOutputSchemas.Problem(schema, text) is null, $"{name}: {StructuredOutputSchemas.Problem(schema, text)}");
                responses++;
            }
        }
        Assert.Equal(2 * StructuredOutputSchemas.All.Count, responses);
    }

    [Fact]
    public async Task A_streamed_response_is_the_same_valid_json_as_the_whole_one()
    {
        var (name, schema) = StructuredOutputSchemas.All[4];
        var (_, whole, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", Request("stories-uld", name, schema));
        using var response = await fixture.Server.Http.PostAsync("/v1/chat/completions",
            new StringContent(Request("stories-uld", name, schema, stream: true).ToJsonString(), Encoding.UTF8, "application/json"));
        var texts = new[] { new StringBuilder(), new StringBuilder() };
        var finishes = new string?[2];
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response))
        {
            if (data == "[DONE]") break;
            foreach (var choice in JsonNode.Parse(data)!["choices"]!.AsArray())
            {
                var index = choice!["index"]!.GetValue<int>();
                if (choice["delta"]?["content"] is { } content) texts[index].Append(content.GetValue<string>());
                if (choice["finish_reason"] is { } finish) finishes[index] = finish.GetValue<string>();
            }
        }
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("stop", finishes[i]);
            Assert.Null(StructuredOutputSchemas.Problem(schema, texts[i].ToString()));
            Assert.Equal(HttpApi.ContentOf(whole, i), texts[i].ToString()); // same seed, same tokens
        }
    }

    [Fact]
    public async Task Json_object_output_is_an_object_even_against_a_logit_bias_for_something_else()
    {
        // The byte-fallback token of 'O' and the piece "Once" pushed as far as logit_bias goes: the mask still wins.
        var tokens = (await HttpApi.PostAsync(fixture.Server.Http, "/tokenize", new JsonObject { ["model"] = "stories", ["prompt"] = "Once", ["add_special_tokens"] = false })).Body!["tokens"]!.AsArray();
        var bias = new JsonObject();
        foreach (var t in tokens) bias[t!.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100;
        var body = HttpApi.Chat("stories", "Once upon a time", 300);
        body["response_format"] = new JsonObject { ["type"] = "json_object" };
        body["logit_bias"] = bias;
        var (status, response, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body);
        Assert.Equal(200, status);
        var text = HttpApi.ContentOf(response);
        Assert.StartsWith("{", text.TrimStart());
        var finish = response!["choices"]![0]!["finish_reason"]!.GetValue<string>();
        if (finish == "stop") Assert.IsType<JsonObject>(JsonNode.Parse(text));
        else
        {
            // Cut by max_tokens: not complete, but every byte so far on the way to an object.
            Assert.Equal("length", finish);
            Assert.NotNull(Uld.Inference.Constraints.JsonGrammar.AnyObject.Start().Step(Encoding.UTF8.GetBytes(text)));
        }
    }

    [Fact]
    public async Task Output_cut_by_max_tokens_finishes_with_length()
    {
        var (name, schema) = StructuredOutputSchemas.All[0];
        var body = Request("stories", name, schema, n: 1);
        body["max_tokens"] = 3;
        var (status, response, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body);
        Assert.Equal(200, status);
        Assert.Equal("length", response!["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(3, response["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    public static TheoryData<string, string> BadFormats => new()
    {
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","pattern":"a+"}}}""", "pattern" },
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"$ref":"#/$defs/a"}}}""", "$ref" },
        { """{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}""", "name" },
        { """{"type":"json_schema","json_schema":{"name":"bad name!","schema":{}}}""", "name" },
        { """{"type":"json_schema"}""", "json_schema" },
        { """{"type":"xml"}""", "xml" },
        { "\"json_object\"", "type" },
    };

    [Theory]
    [MemberData(nameof(BadFormats))]
    public async Task A_format_or_schema_outside_what_is_supported_is_a_400_naming_it(string format, string named)
    {
        var body = HttpApi.Chat("stories", "hi", 5);
        body["response_format"] = JsonNode.Parse(format);
        var (status, error, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body);
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error!["error"]!["type"]!.GetValue<string>());
        Assert.Equal("response_format", error["error"]!["param"]!.GetValue<string>());
        Assert.Contains(named, error["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Legacy_completions_have_no_response_format_as_in_OpenAIs_API()
    {
        var body = new JsonObject { ["model"] = "stories", ["prompt"] = "Once", ["max_tokens"] = 5, ["response_format"] = new JsonObject { ["type"] = "json_object" } };
        var (status, error, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/completions", body);
        Assert.Equal(400, status);
        Assert.Equal("unsupported_parameter", error!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("response_format", error["error"]!["param"]!.GetValue<string>());
    }
}
