using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Api;

/// <summary>The happy paths through the official OpenAI .NET SDK, over real HTTP on loopback.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenAiSdkTests(ServerFixture fixture)
{
    private ChatClient Client(string model) => new(model, new ApiKeyCredential("not-checked-here"),
        new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "/v1") });

    [Fact]
    public async Task Chat_completion_returns_the_greedy_story_and_usage()
    {
        var completion = (await Client("stories").CompleteChatAsync([new UserChatMessage("Once upon a time")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 })).Value;
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(20, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount >= 4);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal("stories", completion.Model);
    }

    [Fact]
    public async Task Streaming_chat_arrives_as_chunks_that_add_up_to_the_whole_answer()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 30 };
        var whole = (await Client("stories").CompleteChatAsync([new UserChatMessage("Lily had a dog")], options)).Value.Content[0].Text;

        var pieces = new List<string>();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Client("stories").CompleteChatStreamingAsync([new UserChatMessage("Lily had a dog")], options))
        {
            pieces.AddRange(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }
        Assert.True(pieces.Count(p => p.Length > 0) > 5, "the answer should arrive in many chunks");
        Assert.Equal(whole, string.Concat(pieces));
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(30, usage.OutputTokenCount);
    }

    [Fact]
    public async Task A_json_schema_response_format_gives_json_the_sdk_can_read_against_the_schema()
    {
        var (name, schema) = StructuredOutputSchemas.All[0];
        var options = new ChatCompletionOptions
        {
            Temperature = 0, MaxOutputTokenCount = 300,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat(name, BinaryData.FromString(schema), jsonSchemaIsStrict: true),
        };
        var completion = (await Client("stories-uld").CompleteChatAsync([new UserChatMessage("Once upon a time")], options)).Value;
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Null(StructuredOutputSchemas.Problem(schema, completion.Content[0].Text));
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("stories-uld")]
    public async Task Logprobs_come_with_top_alternatives(string model)
    {
        var completion = (await Client(model).CompleteChatAsync([new UserChatMessage("Once upon a time")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 })).Value;
        Assert.Equal(8, completion.ContentTokenLogProbabilities.Count);
        foreach (var token in completion.ContentTokenLogProbabilities)
        {
            // ULD's relative-top filter leaves some positions with fewer than 3 possible tokens; those are all listed.
            if (model == "stories") Assert.Equal(3, token.TopLogProbabilities.Count);
            else Assert.InRange(token.TopLogProbabilities.Count, 1, 3);
            Assert.Equal(token.TopLogProbabilities[0].LogProbability, token.LogProbability, 5); // greedy picks the top token
            Assert.True(token.TopLogProbabilities.Sum(t => Math.Exp(t.LogProbability)) <= 1.0001);
            Assert.All(token.TopLogProbabilities, t => Assert.True(t.LogProbability > -1000));
        }
    }
}
