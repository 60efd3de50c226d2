using System.Text;
using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Tools;

/// <summary>
/// Structured output and tool calls on random-weight models with real 128K/152K vocabularies and real chat templates
/// (<see cref="RandomChatModels"/>): the grammar alone gives the answers their shape, so every json_schema answer must
/// parse and validate and every forced tool call must come back as a well-formed <c>tool_calls</c> entry.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class RandomChatModelToolTests
{
    private static readonly Lazy<Task<LogitServerHost>> Server = new(() => LogitServerHost.StartAsync(new Dictionary<string, string?>
    {
        ["LogitServer:Deployments:0:Name"] = "llama3",
        ["LogitServer:Deployments:0:Kind"] = "Plain",
        ["LogitServer:Deployments:0:Model"] = RandomChatModels.Llama3,
        ["LogitServer:Deployments:1:Name"] = "qwen3",
        ["LogitServer:Deployments:1:Kind"] = "Plain",
        ["LogitServer:Deployments:1:Model"] = RandomChatModels.Qwen3,
    }));

    private const string WeatherParameters = """{"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["C","F"]}},"required":["city","unit"],"additionalProperties":false}""";
    private const string TimeParameters = """{"type":"object","properties":{"zone":{"type":"string","maxLength":8}},"required":["zone"],"additionalProperties":false}""";

    private static JsonArray Tools() => new(
        new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["description"] = "Weather in a city", ["parameters"] = JsonNode.Parse(WeatherParameters) } },
        new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_time", ["parameters"] = JsonNode.Parse(TimeParameters) } });

    private static JsonObject ToolRequest(string model, JsonNode toolChoice, bool stream = false) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "What is the weather in Paris?" }),
        ["tools"] = Tools(),
        ["tool_choice"] = toolChoice,
        ["max_tokens"] = 300,
        ["temperature"] = 1,
        ["seed"] = 7,
        ["n"] = 2,
        ["stream"] = stream,
    };

    private static JsonObject Named(string name) => new() { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } };

    public static TheoryData<string> Models => new() { "llama3", "qwen3" };

    private static void AssertCall(JsonNode? call, params string[] names)
    {
        Assert.StartsWith("call_", call!["id"]!.GetValue<string>());
        Assert.Equal("function", call["type"]!.GetValue<string>());
        var name = call["function"]!["name"]!.GetValue<string>();
        Assert.Contains(name, names);
        var arguments = call["function"]!["arguments"]!.GetValue<string>();
        var schema = name == "get_weather" ? WeatherParameters : TimeParameters;
        Assert.True(StructuredOutputSchemas.Problem(schema, arguments) is null, StructuredOutputSchemas.Problem(schema, arguments));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task A_forced_tool_choice_gives_parseable_tool_calls(string model)
    {
        var server = await Server.Value;
        foreach (var (choice, names) in new (JsonNode Choice, string[] Names)[] { (Named("get_weather"), ["get_weather"]), (JsonValue.Create("required")!, ["get_weather", "get_time"]) })
        {
            var (status, body, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", ToolRequest(model, choice));
            Assert.True(status == 200, body?.ToJsonString());
            foreach (var c in body!["choices"]!.AsArray())
            {
                Assert.Equal("tool_calls", c!["finish_reason"]!.GetValue<string>());
                Assert.Null(c["message"]!["content"]);
                AssertCall(Assert.Single(c["message"]!["tool_calls"]!.AsArray()), names);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task A_streamed_forced_call_arrives_as_delta_tool_calls(string model)
    {
        var server = await Server.Value;
        using var response = await server.Http.PostAsync("/v1/chat/completions",
            new StringContent(ToolRequest(model, Named("get_time"), stream: true).ToJsonString(), Encoding.UTF8, "application/json"));
        var calls = new JsonNode?[2];
        var finishes = new string?[2];
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response))
        {
            if (data == "[DONE]") break;
            foreach (var choice in JsonNode.Parse(data)!["choices"]!.AsArray())
            {
                var index = choice!["index"]!.GetValue<int>();
                if (choice["delta"]?["tool_calls"] is JsonArray deltas)
                {
                    var delta = Assert.Single(deltas);
                    Assert.Equal(0, delta!["index"]!.GetValue<int>());
                    calls[index] = delta.DeepClone();
                }
                if (choice["finish_reason"] is { } finish) finishes[index] = finish.GetValue<string>();
            }
        }
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("tool_calls", finishes[i]);
            AssertCall(calls[i], "get_time");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task With_tool_choice_auto_a_text_answer_still_streams_and_adds_up_to_the_whole_one(string model)
    {
        var server = await Server.Value;
        var request = ToolRequest(model, JsonValue.Create("auto")!);
        (request["n"], request["max_tokens"]) = (1, 24);
        var (_, whole, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", request);
        var message = whole!["choices"]![0]!["message"]!;
        Assert.Null(message["tool_calls"]); // the premise: noise, not a call
        request["stream"] = true;
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));
        var pieces = new List<string>();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response))
        {
            if (data == "[DONE]") break;
            if (JsonNode.Parse(data)!["choices"]!.AsArray() is [{ } choice, ..] && choice["delta"]?["content"]?.GetValue<string>() is { Length: > 0 } content) pieces.Add(content);
        }
        Assert.Equal(message["content"]!.GetValue<string>(), string.Concat(pieces));
        Assert.True(pieces.Count > 3, $"{pieces.Count} content chunks");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task The_next_turn_takes_the_call_and_its_result(string model)
    {
        var server = await Server.Value;
        var (_, first, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", ToolRequest(model, Named("get_weather")));
        var call = first!["choices"]![0]!["message"]!["tool_calls"]![0]!;
        var request = ToolRequest(model, JsonValue.Create("auto")!);
        request["n"] = 1;
        request["max_tokens"] = 8;
        request["messages"]!.AsArray().Add(new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call.DeepClone()) });
        request["messages"]!.AsArray().Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = call["id"]!.GetValue<string>(), ["content"] = "18 C, sunny" });
        var (status, body, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", request);
        Assert.True(status == 200, body?.ToJsonString());
        var (tokenizeStatus, tokens, _) = await HttpApi.PostAsync(server.Http, "/tokenize", new JsonObject { ["model"] = model, ["messages"] = request["messages"]!.DeepClone() });
        Assert.Equal(200, tokenizeStatus);
        // The call and its result are in the prompt the model saw: more tokens than the question alone.
        Assert.True(body!["usage"]!["prompt_tokens"]!.GetValue<int>() > tokens!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Json_schema_answers_on_a_128K_vocabulary_parse_and_validate()
    {
        var server = await Server.Value;
        foreach (var (name, schema) in StructuredOutputSchemas.All)
        {
            var request = new JsonObject
            {
                ["model"] = "llama3",
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Answer in JSON." }),
                ["max_tokens"] = 600, ["temperature"] = 1, ["seed"] = 3, ["n"] = 2,
                ["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = name, ["schema"] = JsonNode.Parse(schema) } },
            };
            var (status, body, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", request);
            Assert.True(status == 200, body?.ToJsonString());
            foreach (var choice in body!["choices"]!.AsArray())
            {
                var text = choice!["message"]!["content"]!.GetValue<string>();
                Assert.True(choice["finish_reason"]!.GetValue<string>() == "stop", $"{name}: {text}");
                Assert.True(StructuredOutputSchemas.Problem(schema, text) is null, $"{name}: {StructuredOutputSchemas.Problem(schema, text)}");
            }
        }
    }
}
