using Uld.LogitServer.Tools;
using Uld.Tokenization;

namespace Uld.Tests.LogitServer.Tools;

/// <summary>Streaming with tools: content goes out until a call may begin, and what follows waits for the end.</summary>
public sealed class ToolCallStreamTests
{
    private static (List<string> Sent, string? Left, int Calls) Run(ToolCallFormat format, params string[] pieces)
    {
        var stream = new ToolCallStream(format);
        var sent = pieces.Select(stream.Add).ToList();
        var (rest, calls) = stream.Finish();
        return (sent, rest, calls.Count);
    }

    [Fact]
    public void Qwen_content_streams_up_to_a_tag_and_the_call_comes_at_the_end()
    {
        var (sent, rest, calls) = Run(ToolCallFormat.Hermes, "Let me ", "check.\n<tool", "_call>\n{\"name\": \"f\", ", "\"arguments\": {}}\n</tool_call>");
        Assert.Equal(["Let me ", "check.\n", "", ""], sent);
        Assert.Null(rest);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void A_partial_tag_that_turns_out_to_be_text_is_sent_later_not_lost()
    {
        var (sent, rest, calls) = Run(ToolCallFormat.Hermes, "a <to", "ol> b");
        Assert.Equal(["a ", "<tool> b"], sent);
        Assert.Null(rest);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void A_tag_without_a_well_formed_call_ends_as_content()
    {
        var (sent, rest, calls) = Run(ToolCallFormat.Hermes, "x <tool_call>", " oops");
        Assert.Equal("x ", string.Concat(sent));
        Assert.Equal("<tool_call> oops", rest);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void Llama_answers_opening_with_a_brace_are_held_and_others_stream()
    {
        var call = Run(ToolCallFormat.LlamaJson, " ", "{\"name\": \"f\", ", "\"parameters\": {}}");
        Assert.All(call.Sent, s => Assert.Equal("", s));
        Assert.Equal(1, call.Calls);
        Assert.Null(call.Left);

        var text = Run(ToolCallFormat.LlamaJson, " ", "Hello", " there");
        Assert.Equal(["", " Hello", " there"], text.Sent);
        Assert.Null(text.Left);

        var json = Run(ToolCallFormat.LlamaJson, "{\"answer\": 1}");
        Assert.Equal(0, json.Calls);
        Assert.Equal("{\"answer\": 1}", json.Left);
    }
}
