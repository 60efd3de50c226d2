using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Uld.Gateway;
using Uld.Tests.Support;

namespace Uld.Tests.Gateway.Policy;

/// <summary>
/// The α policy has one source, the replicas' GET /v1/models: a deployment whose replicas disagree, or whose policy
/// has not been read, is refused (fail closed), and nothing is forwarded for it.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class GatewayPolicySourceTests(ServerFixture fixture)
{
    [Theory]
    [InlineData("AlphaMin", "0.1")]         // replica 1 lets stories-uld go down to 0.1
    [InlineData("Rule", "SuppressOnly")]    // replica 1 serves another decode rule, under which α means another strength
    public async Task Replicas_that_disagree_on_a_policy_take_that_deployment_out_of_service(string setting, string value)
    {
        // The gateway trusts neither replica's policy for stories-uld.
        await using var stack = await GatewayStack.StartAsync(fixture.BaseDirectory, fixture.AssistantDirectory,
            (i, settings) => { if (i == 1) settings[$"LogitServer:Deployments:1:{setting}"] = value; });
        using var client = stack.Client();

        var body = HttpApi.Chat("stories-uld", "Once upon a time", 2);
        body["uld_alpha"] = 1.0;
        var (status, error, response) = await HttpApi.PostAsync(client, "/v1/chat/completions", body);
        Assert.Equal(503, status);
        Assert.Equal("policy_conflict", error!["error"]!["code"]!.GetValue<string>());
        Assert.NotNull(response.Headers.RetryAfter);
        body["models"] = new JsonArray("stories", "stories-uld");
        body.Remove("model");
        body.Remove("uld_alpha");
        Assert.Equal("policy_conflict", (await HttpApi.PostAsync(client, "/v1/compare", body)).Body!["error"]!["code"]!.GetValue<string>());
        Assert.Empty(stack.ReceivedByReplicas);

        // Deployments the replicas agree on are served; the listing and /health show the conflict.
        Assert.Equal(200, (await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 2))).Status);
        var ids = JsonNode.Parse(await client.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain("stories-uld", ids);
        Assert.Contains("stories", ids);
        var health = JsonNode.Parse(await client.GetStringAsync("/health"))!["clusters"]!["stories-pool"]!;
        Assert.Equal("conflict", health["policies"]!["stories-uld"]!.GetValue<string>());
        Assert.Equal("known", health["policies"]!["stories"]!.GetValue<string>());
        Assert.Equal(2, health["healthy_replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_policy_not_yet_read_is_refused_and_health_reports_no_replica()
    {
        var settings = GatewayStack.GatewaySettings([new Uri($"http://127.0.0.1:{ClosedPort()}")]);
        var (gateway, address) = await GatewayApp.StartOnLoopbackAsync(settings);
        await using var _ = gateway;
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayStack.TeamKey);

        foreach (var model in new[] { "stories", "stories-uld" })
        {
            var (status, error, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat(model, "hi", 2));
            Assert.Equal(503, status);
            Assert.Equal("policy_unknown", error!["error"]!["code"]!.GetValue<string>());
        }
        using var health = await client.GetAsync("/health");
        Assert.Equal(503, (int)health.StatusCode);
        var cluster = JsonNode.Parse(await health.Content.ReadAsStringAsync())!["clusters"]!["stories-pool"]!;
        Assert.False(cluster["healthy"]!.GetValue<bool>());
        Assert.Equal("unknown", cluster["policies"]!["stories-uld"]!.GetValue<string>());
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
