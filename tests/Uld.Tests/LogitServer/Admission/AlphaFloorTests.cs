using System.Globalization;
using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Admission;

/// <summary>
/// α below a deployment's floor would serve the knowledge it forgot. Through real HTTP, on both generation endpoints,
/// streaming or not, n = 1 or 3, however the value is spelt or hidden: a 400 naming the field, and no token generated.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class AlphaFloorTests(ServerFixture fixture)
{
    private HttpClient Http => fixture.Server.Http;

    public static TheoryData<string, string> Spellings => new()
    {
        { "\"uld_alpha\":0.1", "uld_alpha" },
        { "\"uld_alpha\":0", "uld_alpha" },
        { "\"uld_alpha\":-1", "uld_alpha" },
        { "\"uld_alpha\":1.0,\"uld_alpha\":0", "uld_alpha" },
        { "\"uld_alpha\":\"0\"", "uld_alpha" },
        { "\"uld_alpha\":NaN", "uld_alpha" },
        { "\"uld_alpha\":\"NaN\"", "uld_alpha" },
        { "\"uld_alpha\":\"Infinity\"", "uld_alpha" },
        { "\"uld_alpha\":-1e999", "uld_alpha" },
        { "\"extra_body\":{\"uld_alpha\":0}", "extra_body.uld_alpha" },
        { "\"uld\":{\"alpha\":0}", "uld" },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Alpha_below_the_floor_is_400_and_never_served(string fields, string param)
    {
        var generatedBefore = GeneratedTokens(await Http.GetStringAsync("/metrics"));
        foreach (var path in new[] { "/v1/chat/completions", "/v1/completions" })
        {
            var prompt = path.Contains("chat", StringComparison.Ordinal) ? "\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}]" : "\"prompt\":\"Once upon a time\"";
            foreach (var stream in new[] { false, true })
            {
                foreach (var n in new[] { 1, 3 })
                {
                    var body = $$"""{"model":"stories-uld",{{prompt}},"max_tokens":5,"n":{{n}},"stream":{{(stream ? "true" : "false")}},{{fields}}}""";
                    var (status, error, response) = await HttpApi.PostRawAsync(Http, path, body);
                    var where = $"{path} stream={stream} n={n}";
                    Assert.True(status == 400, $"{where}: {status}");
                    Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType); // refused before any stream starts
                    Assert.Equal("invalid_request_error", error!["error"]!["type"]!.GetValue<string>());
                    Assert.Equal(param, error["error"]!["param"]!.GetValue<string>());
                }
            }
        }
        Assert.Equal(generatedBefore, GeneratedTokens(await Http.GetStringAsync("/metrics")));
    }

    [Fact]
    public async Task The_floor_itself_is_served_and_reported()
    {
        var body = HttpApi.Chat("stories-uld", "Once upon a time", 3);
        body["uld_alpha"] = 0.5;
        var (status, response, _) = await HttpApi.PostAsync(Http, "/v1/chat/completions", body);
        Assert.Equal(200, status);
        Assert.Equal(0.5, response!["uld_alpha"]!.GetValue<double>());
    }

    [Fact]
    public async Task Models_lists_every_uld_deployments_policy()
    {
        var models = JsonNode.Parse(await Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().ToDictionary(m => m!["id"]!.GetValue<string>());
        Assert.Equal(["stories", "stories-uld", "stories-uld-lab"], models.Keys.Order());
        Assert.Null(models["stories"]!["uld"]);
        var policy = models["stories-uld"]!["uld"]!;
        Assert.Equal((1.0, 0.5, 2.0), (policy["alpha_default"]!.GetValue<double>(), policy["alpha_min"]!.GetValue<double>(), policy["alpha_max"]!.GetValue<double>()));
        Assert.Equal((0.1, 0.0, 1.0), (policy["relative_top_default"]!.GetValue<double>(), policy["relative_top_min"]!.GetValue<double>(),
            policy["relative_top_max"]!.GetValue<double>()));
        Assert.Equal(0.0, models["stories-uld-lab"]!["uld"]!["alpha_min"]!.GetValue<double>());
    }

    private static double GeneratedTokens(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("uld_generated_tokens_total{deployment=\"stories-uld\"}", StringComparison.Ordinal))
        .Select(l => double.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Single();
}
