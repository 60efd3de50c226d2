using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.Gateway.Security;

[Collection(ServerCollection.Name)]
public sealed class GatewaySecurityTests(ServerFixture fixture)
{
    [Theory]
    [InlineData(null, "invalid_api_key")]
    [InlineData("sk-wrong", "invalid_api_key")]
    public async Task Missing_or_wrong_keys_are_401(string? key, string code)
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client(key);
        var (status, error, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "hi", 3));
        Assert.Equal(401, status);
        Assert.Equal(code, error!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_key_may_only_use_its_models()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client(GatewayStack.LimitedKey);
        var (status, error, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories-uld-lab", "hi", 3));
        Assert.Equal(403, status);
        Assert.Equal("model", error!["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_floor_is_the_replicas_alpha_min_and_is_enforced_before_forwarding()
    {
        var stack = await fixture.SharedGatewayAsync();
        foreach (var recorder in stack.Recorders) recorder.Clear();
        var body = HttpApi.Chat("stories-uld", "Once upon a time", 3);
        body["uld_alpha"] = 0.2; // below the 0.5 the replicas list for stories-uld
        using var team = stack.Client();
        var (status, error, _) = await HttpApi.PostAsync(team, "/v1/chat/completions", body);
        Assert.Equal(403, status);
        Assert.Equal("uld_alpha", error!["error"]!["param"]!.GetValue<string>());
        Assert.Equal("alpha_below_floor", error["error"]!["code"]!.GetValue<string>());
        Assert.Empty(stack.ReceivedByReplicas);

        // The grant lets a key past the gateway's floor check, but not past the replicas' own AlphaMin.
        using var lab = stack.Client(GatewayStack.LabKey);
        var granted = await HttpApi.PostAsync(lab, "/v1/chat/completions", body);
        Assert.Equal(400, granted.Status);
        Assert.Equal("uld_alpha", granted.Body!["error"]!["param"]!.GetValue<string>());
        Assert.Single(stack.ReceivedByReplicas);

        // A deployment whose replicas allow α = 0.2 serves it to anyone allowed to use it.
        body["model"] = "stories-uld-lab";
        var lower = await HttpApi.PostAsync(team, "/v1/chat/completions", body);
        Assert.Equal(200, lower.Status);
        Assert.Equal(0.2, lower.Body!["uld_alpha"]!.GetValue<double>());

        body["model"] = "stories-uld";
        body["uld_alpha"] = 1.0; // at or above the floor: anyone
        var above = await HttpApi.PostAsync(team, "/v1/chat/completions", body);
        Assert.Equal(200, above.Status);
        Assert.Equal(1.0, above.Body!["uld_alpha"]!.GetValue<double>());
        Assert.All(stack.ReceivedByReplicas, r => Assert.False(r.HasAuthorization)); // the API key stays at the gateway
    }

    [Fact]
    public async Task Rate_limits_answer_429_with_retry_after()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client(GatewayStack.ThrottledKey); // 3 requests per minute
        var statuses = new List<int>();
        (int Status, JsonNode? Body, HttpResponseMessage Response) last = default;
        for (var i = 0; i < 5; i++)
        {
            last = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "hi", 2));
            statuses.Add(last.Status);
        }
        Assert.Equal([200, 200, 200, 429, 429], statuses);
        Assert.Equal("rate_limit_exceeded", last.Body?["error"]?["code"]?.GetValue<string>());
        Assert.InRange(int.Parse(last.Response!.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
    }

    [Fact]
    public async Task Compare_costs_one_permit_per_model()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client(GatewayStack.CompareThrottledKey); // 3 requests per minute
        JsonObject Compare(params string[] models)
        {
            var body = HttpApi.Chat("unused", "Once upon a time", 2);
            body.Remove("model");
            body["models"] = new JsonArray(models.Select(m => (JsonNode)m).ToArray());
            return body;
        }
        var tooMany = await HttpApi.PostAsync(client, "/v1/compare", Compare("stories", "stories", "stories", "stories"));
        Assert.Equal(429, tooMany.Status); // 4 fan-outs never fit a budget of 3
        Assert.Equal(200, (await HttpApi.PostAsync(client, "/v1/compare", Compare("stories", "stories-uld"))).Status);
        Assert.Equal(200, (await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "hi", 2))).Status);
        var spent = await HttpApi.PostAsync(client, "/v1/compare", Compare("stories"));
        Assert.Equal(429, spent.Status);
        Assert.Equal("rate_limit_exceeded", spent.Body!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Oversized_bodies_are_413()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(HttpApi.Chat("stories", new string('a', 100_000), 3).ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await client.SendAsync(request);
        Assert.Equal(413, (int)response.StatusCode);
        Assert.Equal("invalid_request_error", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
    }
}
