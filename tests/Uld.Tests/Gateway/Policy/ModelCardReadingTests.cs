using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Uld.Contracts.OpenAi;
using Uld.Gateway;
using Uld.Gateway.Policy;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.Gateway.Policy;

/// <summary>
/// The gateway reads its replicas' /v1/models into the Uld.Contracts records LogitServer writes: every kind's card
/// becomes the policy it publishes, and a card the gateway cannot trust — a floor missing or not a number — never
/// becomes a policy with a floor of 0.
/// </summary>
public sealed class ModelCardReadingTests
{
    private static DeploymentPolicy? PolicyOf(string cardJson) =>
        DeploymentPolicy.FromCard(OpenAiWire.Read<ModelList>($$"""{"object":"list","data":[{{cardJson}}]}""").Data.Single());

    [Fact]
    public void Each_kinds_published_card_reads_back_as_the_policy_it_publishes()
    {
        var uld = new DeploymentOptions { Name = "u", Kind = "Uld", AlphaDefault = 1.25, AlphaMin = 1.0, AlphaMax = 3.0, RelativeTopDefault = 0.05,
            RelativeTopMin = 0.01, RelativeTopMax = 0.5, Rule = Uld.Inference.Sampling.UldRule.SuppressOnly };
        var offset = new DeploymentOptions { Name = "o", Kind = "Offset", BetaDefault = 1.5, BetaMin = 1.0, BetaMax = 2.5 };
        var plain = new DeploymentOptions { Name = "p" };
        var cards = new[] { uld, offset, plain }.Select(d => DeploymentKinds.Of(d)!.Publish(d, new ModelCard(d.Name, "model", 1, "uldserver"))).ToList();
        var listing = OpenAiWire.Read<ModelList>(JsonSerializer.Serialize(new ModelList("list", cards), JsonBody.Options));

        var policies = listing.Data.ToDictionary(c => c.Id, DeploymentPolicy.FromCard);
        Assert.Equal(new DeploymentPolicy(true, 1.25, 1.0, 3.0, 0.05, 0.01, 0.5, "suppress_only"), policies["u"]);
        Assert.Equal(DeploymentPolicy.Plain with { Offset = new OffsetBetaPolicy(1.5, 1.0, 2.5) }, policies["o"]);
        Assert.Equal(DeploymentPolicy.Plain, policies["p"]);
    }

    [Fact]
    public void An_older_replicas_card_without_relative_top_bounds_or_rule_is_the_difference_over_0_to_1()
    {
        var policy = PolicyOf("""{"id":"u","object":"model","created":1,"owned_by":"uldserver","uld":{"alpha_default":1,"alpha_min":0.5,"alpha_max":2,"relative_top_default":0.1}}""");
        Assert.Equal(new DeploymentPolicy(true, 1, 0.5, 2, 0.1, 0, 1, "difference"), policy);
    }

    [Theory]
    [InlineData("""{"id":"u","uld":{"alpha_default":1,"alpha_max":2,"relative_top_default":0.1}}""")]        // no floor
    [InlineData("""{"id":"u","uld":{"alpha_default":1,"alpha_min":"0.5","alpha_max":2,"relative_top_default":0.1}}""")] // a floor as a string
    [InlineData("""{"id":"u","uld":{"alpha_default":1,"alpha_min":null,"alpha_max":2,"relative_top_default":0.1}}""")]
    [InlineData("""{"id":"u","uld":7}""")]
    [InlineData("""{"id":"o","offset":{"beta_default":1,"beta_max":2}}""")]                                    // no β floor
    [InlineData("""{"object":"model","uld":null}""")]                                                               // no id
    public void A_card_missing_a_bound_or_with_a_bound_of_another_type_is_not_read(string card) =>
        Assert.ThrowsAny<JsonException>(() => PolicyOf(card));

    [Theory]
    [InlineData("""{"id":"x","uld":{"alpha_default":1,"alpha_min":0.5,"alpha_max":2,"relative_top_default":0.1},"offset":{"beta_default":1,"beta_min":1,"beta_max":2}}""")]
    [InlineData("""{"id":"u","uld":{"alpha_default":1,"alpha_min":0.5,"alpha_max":2,"relative_top_default":0.1,"rule":null}}""")]
    public void A_card_that_reads_but_cannot_be_trusted_has_no_policy(string card) => Assert.Null(PolicyOf(card));

    [Fact]
    public async Task A_replica_whose_card_lacks_its_floor_serves_nothing_until_it_lists_one()
    {
        const string plainCard = """{"id":"stories","object":"model","created":1,"owned_by":"uldserver"}""";
        static string Listing(string uld) =>
            "{\"object\":\"list\",\"data\":[" + plainCard + ",{\"id\":\"stories-uld\",\"object\":\"model\",\"created\":1,\"owned_by\":\"uldserver\",\"uld\":" + uld + "}]}";
        var listing = Listing("""{"alpha_default":1,"alpha_max":2,"relative_top_default":0.1}""");
        var forwarded = 0;
        var (replica, replicaAddress) = await LoopbackHost.StartAsync((args, configure) =>
        {
            var builder = WebApplication.CreateBuilder(args);
            configure(builder);
            var app = builder.Build();
            app.MapGet("/v1/models", () => Results.Text(Volatile.Read(ref listing), "application/json"));
            app.MapPost("/v1/chat/completions", () =>
            {
                Interlocked.Increment(ref forwarded);
                return Results.Json(new ChatCompletion("chatcmpl-1", "chat.completion", 1, "stories-uld",
                    [new ChatChoice(0, new AssistantMessage("assistant", "Hi"), null, "stop")], new Usage(3, 1, 4), 1.0), JsonBody.Options);
            });
            return app;
        }, new Dictionary<string, string?>());
        await using var _ = replica;
        var (gateway, address) = await GatewayApp.StartOnLoopbackAsync(GatewayStack.GatewaySettings([replicaAddress]));
        await using var __ = gateway;
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayStack.TeamKey);

        var body = HttpApi.Chat("stories-uld", "Hello", 1);
        body["uld_alpha"] = 1.0;
        var (status, error, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", body);
        Assert.Equal((503, "policy_unknown"), (status, error!["error"]!["code"]!.GetValue<string>()));
        Assert.Equal(0, Volatile.Read(ref forwarded));

        // The replica lists a floor, in an older replica's card: the gateway reads it and enforces it.
        Volatile.Write(ref listing, Listing("""{"alpha_default":1,"alpha_min":0.5,"alpha_max":2,"relative_top_default":0.1}"""));
        for (var deadline = DateTime.UtcNow.AddSeconds(20); (await HttpApi.PostAsync(client, "/v1/chat/completions", body)).Status != 200; await Task.Delay(100))
            Assert.True(DateTime.UtcNow < deadline, "the gateway did not read the corrected listing within 20 s");
        body["uld_alpha"] = 0.2;
        Assert.Equal("alpha_below_floor", (await HttpApi.PostAsync(client, "/v1/chat/completions", body)).Body!["error"]!["code"]!.GetValue<string>());
        var card = JsonNode.Parse(await client.GetStringAsync("/v1/models"))!["data"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == "stories-uld")!;
        Assert.Equal("""{"alpha_default":1,"alpha_min":0.5,"alpha_max":2,"relative_top_default":0.1,"relative_top_min":0,"relative_top_max":1,"rule":"difference"}""",
            card["uld"]!.ToJsonString());
        Assert.Equal(1, Volatile.Read(ref forwarded));
    }
}
