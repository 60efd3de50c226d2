using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Engine;

/// <summary>Continuous batching must not change what a request gets.</summary>
[Collection(ServerCollection.Name)]
public sealed class BatchingTests(ServerFixture fixture)
{
    private static readonly string[] Prompts =
    [
        "Once upon a time", "Lily had a dog", "Tom and Sue went to", "The big red ball", "One day, a little bird",
        "Max was sad because", "The sun was shining", "Mom said", "There was a cat", "Ben liked to eat",
        "In the park", "The little boy", "A girl named Sara", "It was a rainy day", "The dog ran", "Grandma made a cake",
    ];

    [Theory]
    [InlineData("stories")]
    [InlineData("stories-uld")]
    public async Task Greedy_output_is_identical_alone_and_in_a_batch_of_16(string model)
    {
        var alone = new List<string>();
        foreach (var prompt in Prompts) alone.Add(TokensOf((await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", Request(model, prompt))).Body));

        var together = await Task.WhenAll(Prompts.Select(async p => TokensOf((await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", Request(model, p))).Body)));

        Assert.Equal(alone, together);
        Assert.True(alone.Distinct().Count() >= 10, "different prompts should mostly continue differently, or the comparison is vacuous");
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_and_n_gives_distinct_choices()
    {
        var body = HttpApi.Chat("stories", "Once upon a time", 20, temperature: 1.0);
        body["seed"] = 1234;
        body["n"] = 3;
        var first = (await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body)).Body!;
        var second = (await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body)).Body!;
        var texts = Enumerable.Range(0, 3).Select(i => HttpApi.ContentOf(first, i)).ToList();
        Assert.Equal(texts, Enumerable.Range(0, 3).Select(i => HttpApi.ContentOf(second, i)));
        Assert.True(texts.Distinct().Count() >= 2, "different choices should sample differently");
        Assert.Equal(60, first["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    private static JsonObject Request(string model, string prompt)
    {
        var body = HttpApi.Chat(model, prompt, 24);
        body["logprobs"] = true;
        return body;
    }

    /// <summary>The token sequence (from logprobs), which is stricter than comparing decoded text.</summary>
    private static string TokensOf(JsonNode? body) =>
        string.Join("|", body!["choices"]![0]!["logprobs"]!["content"]!.AsArray().Select(t => t!["token"]!.GetValue<string>()));
}
