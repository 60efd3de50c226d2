using System.Diagnostics;
using System.Text.Json.Nodes;
using Uld.Gateway;
using Uld.Gateway.Experiments;
using Uld.Tests.Support;

namespace Uld.Tests.Gateway.Routing;

[Collection(ServerCollection.Name)]
public sealed class GatewayRoutingTests(ServerFixture fixture)
{
    [Fact]
    public async Task Requests_are_routed_by_model_and_match_a_direct_call()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var viaGateway = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 20));
        var direct = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 20));
        Assert.Equal(200, viaGateway.Status);
        Assert.Equal(HttpApi.ContentOf(direct.Body), HttpApi.ContentOf(viaGateway.Body));

        var unknown = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("no-such-model", "hi", 5));
        Assert.Equal(404, unknown.Status);
        Assert.Equal("model_not_found", unknown.Body!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Models_aggregates_reachable_deployments_and_experiments()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var ids = JsonNode.Parse(await client.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();
        Assert.Contains("stories", ids);
        Assert.Contains("stories-uld-lab", ids);
        Assert.Contains("stories-ab", ids);
        Assert.DoesNotContain("stories-unrouted", ids); // served by the replicas, but not routed by this gateway
        // Cards carry the replicas' α policy, the one the gateway enforces.
        var models = JsonNode.Parse(await client.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        var uld = models.Single(m => m!["id"]!.GetValue<string>() == "stories-uld")!["uld"]!;
        Assert.Equal(GatewayStack.UldFloor, uld["alpha_min"]!.GetValue<double>());
        Assert.Equal(2.0, uld["alpha_max"]!.GetValue<double>());

        using var limited = stack.Client(GatewayStack.LimitedKey);
        var limitedIds = JsonNode.Parse(await limited.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        Assert.Equal(["stories"], limitedIds);
    }

    [Fact]
    public async Task Experiment_assignment_is_sticky_and_named_in_a_header()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var seen = new Dictionary<string, string>();
        foreach (var user in new[] { "alice", "bob", "carol", "dave", "erin", "frank" })
        {
            for (var i = 0; i < 2; i++)
            {
                var body = HttpApi.Chat("stories-ab", "Once upon a time", 3);
                body["user"] = user;
                var (status, response, message) = await HttpApi.PostAsync(client, "/v1/chat/completions", body);
                Assert.Equal(200, status);
                var variant = message.Headers.GetValues(GatewayMetricsNames.VariantHeader).Single();
                Assert.Equal(variant == "uld" ? "stories-uld-lab" : "stories", response!["model"]!.GetValue<string>());
                if (seen.TryGetValue(user, out var earlier)) Assert.Equal(earlier, variant);
                seen[user] = variant;
            }
        }
        Assert.Equal(2, seen.Values.Distinct().Count());
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("uld_gateway_variant_requests_total{experiment=\"stories-ab\",variant=\"uld\",status=\"200\"}", metrics);
    }

    [Fact]
    public void Weighted_assignment_splits_within_tolerance_and_is_stable()
    {
        var experiment = new ExperimentOptions
        {
            Variants = [new VariantOptions { Name = "a", Model = "x", Weight = 3 }, new VariantOptions { Name = "b", Model = "y", Weight = 1 }],
        };
        var assigned = Enumerable.Range(0, 1000).Select(i => ExperimentAssigner.Assign("exp", experiment, $"user-{i}").Name).ToList();
        Assert.InRange(assigned.Count(v => v == "a"), 750 - 45, 750 + 45); // ~3σ of a binomial(1000, 0.75)
        Assert.Equal(assigned, Enumerable.Range(0, 1000).Select(i => ExperimentAssigner.Assign("exp", experiment, $"user-{i}").Name));
        // Another experiment splits the same users independently.
        var other = Enumerable.Range(0, 1000).Select(i => ExperimentAssigner.Assign("exp-2", experiment, $"user-{i}").Name).ToList();
        Assert.InRange(assigned.Zip(other).Count(p => p.First == p.Second), 550, 700); // 0.75² + 0.25² = 0.625 if independent
    }

    [Fact]
    public async Task Compare_returns_answers_side_by_side()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var body = HttpApi.Chat("unused", "Once upon a time", 15);
        body.Remove("model");
        body["models"] = new JsonArray("stories", "stories-uld-lab");
        var (status, response, _) = await HttpApi.PostAsync(client, "/v1/compare", body);
        Assert.Equal(200, status);
        var results = response!["results"]!.AsArray();
        Assert.Equal(["stories", "stories-uld-lab"], results.Select(r => r!["model"]!.GetValue<string>()));
        var answers = results.Select(r => r!["response"]!["choices"]![0]!["message"]!["content"]!.GetValue<string>()).ToList();
        Assert.NotEqual(answers[0], answers[1]); // ULD changes the answer
    }

    [Fact]
    public async Task Streams_pass_through_chunk_by_chunk()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var body = HttpApi.Chat("stories", "Once upon a time", 200);
        body["stream"] = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var arrivals = new List<double>();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response)) arrivals.Add(clock.Elapsed.TotalMilliseconds);
        Assert.True(arrivals.Count > 100);
        // Incremental: chunks arrive spread over the generation, not all together at the end. A buffered stream
        // delivers every chunk within a millisecond or two of the last one; a streamed one delivers most of them
        // well before it. (Counting chunks rather than comparing two gaps: one scheduler stall on a loaded machine
        // must not decide the test.)
        var early = arrivals.Count(t => arrivals[^1] - t > Math.Max(10, 0.25 * (arrivals[^1] - arrivals[0])));
        Assert.True(early >= arrivals.Count / 3,
            $"{early} of {arrivals.Count} chunks arrived well before the last; first at {arrivals[0]:F1} ms, last at {arrivals[^1]:F1} ms");
    }
}

/// <summary>The wire names clients depend on, written out: renaming them in the gateway must fail these tests.</summary>
internal static class GatewayMetricsNames
{
    public const string VariantHeader = "X-Uld-Variant";
}
