using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>ULD semantics through the API: α = 0 is the base model, α &gt; 0 changes it, policy is enforced and reported.</summary>
[Collection(ServerCollection.Name)]
public sealed class UldDecodingTests(ServerFixture fixture)
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task Alpha_zero_reproduces_the_plain_base_deployment()
    {
        foreach (var prompt in new[] { "Once upon a time", "Tom and Sue went to", "The big red ball" })
        {
            var plain = await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories", prompt, 40));
            var body = HttpApi.Chat("stories-uld-lab", prompt, 40);
            body["uld_alpha"] = 0;
            var uld = await HttpApi.PostAsync(Http, "/v1/chat/completions", body);
            Assert.Equal(200, uld.Status);
            Assert.Equal(HttpApi.ContentOf(plain.Body), HttpApi.ContentOf(uld.Body));
            Assert.Equal(0, uld.Body!["uld_alpha"]!.GetValue<double>());
        }
    }

    [Fact]
    public async Task Positive_alpha_changes_the_output_and_is_reported()
    {
        var plain = await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 40));
        var uld = await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories-uld", "Once upon a time", 40));
        Assert.Equal(200, uld.Status);
        Assert.NotEqual(HttpApi.ContentOf(plain.Body), HttpApi.ContentOf(uld.Body));
        Assert.Equal(1.0, uld.Body!["uld_alpha"]!.GetValue<double>()); // the deployment default
        Assert.Null(plain.Body!["uld_alpha"]);

        var explicitAlpha = HttpApi.Chat("stories-uld", "Once upon a time", 5);
        explicitAlpha["uld_alpha"] = 1.5;
        Assert.Equal(1.5, (await HttpApi.PostAsync(Http, "/v1/chat/completions", explicitAlpha)).Body!["uld_alpha"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("stories-uld", "uld_alpha", 0.1)] // below the floor: would undo the unlearning
    [InlineData("stories-uld", "uld_alpha", 5.0)]
    [InlineData("stories-uld", "uld_relative_top", 1.5)]
    [InlineData("stories", "uld_alpha", 1.0)] // plain deployments take no α
    [InlineData("stories-uld", "uld_alfa", 1.0)] // a misspelt control is not silently ignored
    public async Task Out_of_policy_values_are_400_naming_the_field(string model, string field, double value)
    {
        await HttpApi.AssertFieldRejectedAsync(Http, model, field, value);
    }

    [Fact]
    public async Task Models_lists_deployments_with_their_alpha_policy()
    {
        var models = JsonNode.Parse(await Http.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        Assert.Equal(["stories", "stories-uld", "stories-uld-lab"], models.Select(m => m!["id"]!.GetValue<string>()).Order());
        var uld = models.Single(m => m!["id"]!.GetValue<string>() == "stories-uld")!;
        Assert.Equal(0.5, uld["uld"]!["alpha_min"]!.GetValue<double>());
        Assert.Null(models.Single(m => m!["id"]!.GetValue<string>() == "stories")!["uld"]);
    }
}
