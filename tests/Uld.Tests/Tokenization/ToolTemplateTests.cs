using System.Text.Json;
using Uld.LogitServer.Tools;
using Uld.Tests.Support;
using Uld.Tokenization;

namespace Uld.Tests.Tokenization;

/// <summary>
/// Chat templates given tools: Qwen3's own template (../shared/tokenizers/qwen3) and a Llama 3.1-style JSON
/// tool-calling template render the tool definitions, an assistant turn's tool calls and tool results exactly as
/// apply_chat_template(messages, tools=tools) lays them out; the tool-call format is read off each template.
/// </summary>
public sealed class ToolTemplateTests
{
    public const string LlamaToolsTemplateFile = "llama3-json-tools.jinja";

    public static string LlamaToolsTemplate => File.ReadAllText(SharedPaths.Require(Path.Combine(SharedPaths.RepositoryRoot, "tests", "Uld.Tests", "Fixtures", "templates", LlamaToolsTemplateFile)));

    private const string Tools = """[{"type": "function", "function": {"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]""";

    private static IReadOnlyList<object?> ToolValues() => (List<object?>)TemplateValues.From(JsonDocument.Parse(Tools).RootElement)!;

    private static List<Dictionary<string, object?>> Conversation(bool withResult)
    {
        var messages = new List<Dictionary<string, object?>>
        {
            new() { ["role"] = "system", ["content"] = "You are helpful." },
            new() { ["role"] = "user", ["content"] = "Weather in Paris?" },
        };
        if (!withResult) return messages;
        messages.Add(new()
        {
            ["role"] = "assistant", ["content"] = "",
            ["tool_calls"] = new List<object?>
            {
                new Dictionary<string, object?>
                {
                    ["id"] = "call_1", ["type"] = "function",
                    ["function"] = new Dictionary<string, object?> { ["name"] = "get_weather", ["arguments"] = new Dictionary<string, object?> { ["city"] = "Paris" } },
                },
            },
        });
        messages.Add(new() { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "18 C, sunny" });
        return messages;
    }

    private const string QwenToolsPreamble =
        "<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + """{"type": "function", "function": {"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}"""
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
        + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";

    [Fact]
    public void Qwen3_renders_tools_tool_calls_and_tool_results_as_its_template_says()
    {
        var template = ChatTemplate.Load(TokenizerFixtures.TokenizerDirectory("qwen3"));
        Assert.Equal(ToolCallFormat.Hermes, template.ToolCalls);
        Assert.Equal(QwenToolsPreamble + "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n",
            template.RenderConversation(Conversation(withResult: false), ToolValues()));
        Assert.Equal(QwenToolsPreamble + "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
            + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
            + "<|im_start|>user\n<tool_response>\n18 C, sunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
            template.RenderConversation(Conversation(withResult: true), ToolValues()));
        // Without tools the same messages render as the template's plain chat (the fixture's case).
        Assert.Equal("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n",
            template.RenderConversation(Conversation(withResult: false), null));
    }

    [Fact]
    public void A_llama3_json_tools_template_renders_definitions_with_tojson_indent_and_calls_as_json()
    {
        var template = JinjaChatTemplate.Create(LlamaToolsTemplate, TokenizerConfig.Load(TokenizerFixtures.TokenizerDirectory("llama3")), "test");
        Assert.Equal(ToolCallFormat.LlamaJson, template.ToolCalls);
        const string definitions =
            "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n        \"description\": \"Get the weather\",\n"
            + "        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\"\n"
            + "                }\n            },\n            \"required\": [\n                \"city\"\n            ]\n        }\n    }\n}";
        const string preamble = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nYou are helpful.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n"
            + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}. Do not use variables.\n\n"
            + definitions + "\n\nWeather in Paris?<|eot_id|>";
        Assert.Equal(preamble + "<|start_header_id|>assistant<|end_header_id|>\n\n", template.RenderConversation(Conversation(withResult: false), ToolValues()));
        Assert.Equal(preamble + "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
            + "<|start_header_id|>ipython<|end_header_id|>\n\n18 C, sunny<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            template.RenderConversation(Conversation(withResult: true), ToolValues()));
    }

    public static TheoryData<int> FixtureCases => new(Enumerable.Range(0, TokenizerFixtures.Cases("tools.chat.json").Count));

    /// <summary>The prompts transformers.js's apply_chat_template(messages, tools=tools) wrote (tools/fixtures/generate.mjs).</summary>
    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void Conversations_with_tools_render_as_transformers_renders_them(int index)
    {
        var c = TokenizerFixtures.Cases("tools.chat.json")[index]!;
        var tokenizer = c["tokenizer"]!.GetValue<string>();
        var template = c["template"]!.GetValue<string>() == "own"
            ? ChatTemplate.Load(TokenizerFixtures.TokenizerDirectory(tokenizer))
            : JinjaChatTemplate.Create(LlamaToolsTemplate, TokenizerConfig.Load(TokenizerFixtures.TokenizerDirectory(tokenizer)), "test");
        var messages = ((List<object?>)TemplateValues.From(JsonDocument.Parse(c["messages"]!.ToJsonString()).RootElement)!).Cast<Dictionary<string, object?>>().ToList();
        var tools = (List<object?>)TemplateValues.From(JsonDocument.Parse(c["tools"]!.ToJsonString()).RootElement)!;
        Assert.Equal(c["prompt"]!.GetValue<string>(), template.RenderConversation(messages, tools));
    }

    [Fact]
    public void A_template_without_tools_refuses_them_and_tool_turns()
    {
        var template = ChatTemplate.Load(TokenizerFixtures.TokenizerDirectory("llama3"));
        Assert.Equal(ToolCallFormat.None, template.ToolCalls);
        Assert.Throws<ArgumentException>(() => template.RenderConversation(Conversation(withResult: false), ToolValues()));
        Assert.Equal(ToolCallFormat.None, ChatTemplate.QuestionAnswer.ToolCalls);
        Assert.Throws<ArgumentException>(() => ChatTemplate.QuestionAnswer.RenderConversation(Conversation(withResult: true), null));
    }

    [Theory]
    [InlineData("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "Hermes", null, "get_weather", "{\"city\":\"Paris\"}")]
    [InlineData("Let me check.\n<tool_call>\n{\"arguments\": {\"city\": \"Köln\"}, \"name\": \"get_weather\"}\n</tool_call>", "Hermes", "Let me check.", "get_weather", "{\"city\":\"Köln\"}")]
    [InlineData(" {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "LlamaJson", null, "get_weather", "{\"city\":\"Paris\"}")]
    [InlineData("<|python_tag|>{\"name\": \"f\", \"parameters\": {}}", "LlamaJson", null, "f", "{}")]
    public void Generated_calls_are_read_back_in_openais_shape(string text, string format, string? content, string name, string arguments)
    {
        var (rest, calls) = ToolCallParser.Parse(text, Enum.Parse<ToolCallFormat>(format));
        Assert.Equal(content, rest);
        var call = Assert.Single(calls);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("function", call.Type);
        Assert.Equal(name, call.Function.Name);
        Assert.Equal(arguments, call.Function.Arguments);
    }

    [Theory]
    [InlineData("The weather is fine.", "Hermes")]
    [InlineData("<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "Hermes")]
    [InlineData("{\"name\": \"f\", \"parameters\": [1]}", "LlamaJson")]
    [InlineData("{\"answer\": 1}", "LlamaJson")]
    public void Text_that_is_not_a_well_formed_call_stays_content(string text, string format)
    {
        var (content, calls) = ToolCallParser.Parse(text, Enum.Parse<ToolCallFormat>(format));
        Assert.Empty(calls);
        Assert.Equal(text, content);
    }
}
