using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Tools;

/// <summary>tools and tool_choice checked as OpenAI checks them, on stories260K, whose chat template takes no tools.</summary>
[Collection(ServerCollection.Name)]
public sealed class ToolRequestTests(ServerFixture fixture)
{
    private static JsonArray Tool(string name = "get_weather") =>
        new(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["parameters"] = new JsonObject { ["type"] = "object" } } });

    public static TheoryData<string, string, string> Refused => new()
    {
        // field, body fragment, the param the 400 names
        { "a template without tools", """{"tools": TOOL}""", "tools" },
        { "a template without tools, forced", """{"tools": TOOL, "tool_choice": "required"}""", "tools" },
        { "required without tools", """{"tool_choice": "required"}""", "tool_choice" },
        { "a named function without tools", """{"tool_choice": {"type": "function", "function": {"name": "f"}}}""", "tool_choice" },
        { "a named function not offered", """{"tools": TOOL, "tool_choice": {"type": "function", "function": {"name": "other"}}}""", "tool_choice" },
        { "an unknown tool_choice", """{"tools": TOOL, "tool_choice": "always"}""", "tool_choice" },
        { "a tool that is not a function", """{"tools": [{"type": "code_interpreter"}]}""", "tools" },
        { "a function without a name", """{"tools": [{"type": "function", "function": {"description": "x"}}]}""", "tools" },
        { "the same function twice", """{"tools": [TOOL0, TOOL0]}""", "tools" },
        { "parameters that are not a schema", """{"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}""", "tools" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Bad_tools_are_a_400_naming_the_field(string what, string fragment, string param)
    {
        var body = HttpApi.Chat("stories", "hi", 5);
        var json = fragment.Replace("TOOL0", Tool()[0]!.ToJsonString()).Replace("TOOL", Tool().ToJsonString());
        foreach (var (key, value) in JsonNode.Parse(json)!.AsObject()) body[key] = value?.DeepClone();
        var (status, error, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body);
        Assert.True(status == 400, what);
        Assert.Equal(param, error!["error"]!["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["error"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tool_choice_none_leaves_the_tools_out_and_answers_in_text()
    {
        var body = HttpApi.Chat("stories", "Once upon a time", 5);
        body["tools"] = Tool();
        body["tool_choice"] = "none";
        var (status, response, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body);
        Assert.Equal(200, status);
        var (_, plain, _) = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 5));
        Assert.Equal(HttpApi.ContentOf(plain), HttpApi.ContentOf(response));
        Assert.Null(response!["choices"]![0]!["message"]!["tool_calls"]);
    }
}
