using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>
/// Offset-unlearning deployments through the API: l_base + β·(l_unlearned − l_reference) with β per request. The trio
/// is stories260K as base and "unlearned" model and its 2-layer truncation as reference: not a trained pair, but three
/// real sessions whose offset moves the base a lot, which is what these serving properties need.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class OffsetDeploymentTests(ServerFixture fixture) : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private LogitServerHost _server = null!;
    private HttpClient Http => _server.Http;

    /// <summary>No BOS: echo leaves special tokens out, and every token here should be scored.</summary>
    private static readonly int[] PromptTokens = [403, 407, 261, 378, 429, 262, 395, 271, 300];

    public static Dictionary<string, string?> Settings(string baseDir, string referenceDir, string unlearnedDir) => new()
    {
        // β = 0 is compared bit for bit with the plain deployment, so both run the same graph, model.onnx (the serving
        // graph agrees with it to about 1e-5, not bit for bit).
        ["LogitServer:KvCache"] = "Concat",
        ["LogitServer:Deployments:0:Name"] = "stories",
        ["LogitServer:Deployments:0:Model"] = baseDir,
        ["LogitServer:Deployments:1:Name"] = "stories-offset",
        ["LogitServer:Deployments:1:Kind"] = "Offset",
        ["LogitServer:Deployments:1:Base"] = baseDir,
        ["LogitServer:Deployments:1:Reference"] = referenceDir,
        ["LogitServer:Deployments:1:Unlearned"] = unlearnedDir,
        ["LogitServer:Deployments:1:BetaDefault"] = "1.0",
        ["LogitServer:Deployments:1:BetaMin"] = "0.5",
        ["LogitServer:Deployments:1:BetaMax"] = "2.0",
        ["LogitServer:Deployments:2:Name"] = "stories-offset-lab",
        ["LogitServer:Deployments:2:Kind"] = "Offset",
        ["LogitServer:Deployments:2:Base"] = baseDir,
        ["LogitServer:Deployments:2:Reference"] = referenceDir,
        ["LogitServer:Deployments:2:Unlearned"] = unlearnedDir,
        ["LogitServer:Deployments:2:BetaMin"] = "0",
    };

    public async Task InitializeAsync() =>
        _server = await LogitServerHost.StartAsync(Settings(fixture.BaseDirectory, fixture.AssistantDirectory, fixture.BaseDirectory));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Beta_zero_is_exactly_the_base_deployment()
    {
        var (plain, offset) = (await Score("stories", null), await Score("stories-offset-lab", 0));
        Assert.Equal(plain, offset); // bit for bit, not approximately
        foreach (var prompt in new[] { "Once upon a time", "Tom and Sue went to" })
        {
            var body = HttpApi.Chat("stories-offset-lab", prompt, 30);
            body["uld_offset_beta"] = 0;
            var answer = await HttpApi.PostAsync(Http, "/v1/chat/completions", body);
            Assert.Equal(HttpApi.ContentOf((await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories", prompt, 30))).Body), HttpApi.ContentOf(answer.Body));
            Assert.Equal(0, answer.Body!["uld_offset_beta"]!.GetValue<double>());
        }
    }

    [Fact]
    public async Task Logprobs_come_from_the_combined_distribution()
    {
        const double beta = 1.5;
        var served = await Score("stories-offset", beta);

        // The same distribution computed here from the three ONNX models directly.
        using var baseModel = new OnnxCausalLm(Path.Combine(fixture.BaseDirectory, ModelDirectory.OnnxFile));
        using var reference = new OnnxCausalLm(Path.Combine(fixture.AssistantDirectory, ModelDirectory.OnnxFile));
        var n = PromptTokens.Length;
        DecoderStep Run(OnnxCausalLm model)
        {
            using var empty = model.EmptyCache(1);
            var step = model.Run([.. PromptTokens.Select(t => (long)t)], [.. Enumerable.Repeat(1L, n)], [.. Enumerable.Range(0, n).Select(i => (long)i)], 1, empty);
            step.Present.Dispose();
            return step;
        }
        var (b, r) = (Run(baseModel), Run(reference));
        var buffer = new float[baseModel.Vocab];
        var expected = new double[n - 1];
        for (var t = 1; t < n; t++)
        {
            OffsetLogits.Combine(b.Row(0, t - 1), b.Row(0, t - 1), r.Row(0, t - 1), beta, buffer);
            expected[t - 1] = buffer[PromptTokens[t]];
        }
        Assert.Equal(expected.Length, served.Length);
        Assert.InRange(expected.Zip(served).Max(p => Math.Abs(p.First - p.Second)), 0, 1e-4);
        // …and it is not the base distribution.
        Assert.True(expected.Zip(await Score("stories", null)).Max(p => Math.Abs(p.First - p.Second)) > 0.5);
    }

    [Fact]
    public async Task Greedy_output_is_identical_alone_and_in_a_batch_with_mixed_betas()
    {
        var requests = new[] { "Once upon a time", "Lily had a dog", "Tom and Sue went to", "The big red ball", "Max was sad because", "Mom said" }
            .SelectMany(p => new[] { 0.5, 1.0, 2.0 }.Select(beta => (Prompt: p, Beta: beta))).ToList();
        JsonObject Request((string Prompt, double Beta) r)
        {
            var body = HttpApi.Chat("stories-offset", r.Prompt, 20);
            body["uld_offset_beta"] = r.Beta;
            body["logprobs"] = true;
            return body;
        }
        static (string Tokens, double[] Logprobs) Answer(JsonNode? body)
        {
            var content = body!["choices"]![0]!["logprobs"]!["content"]!.AsArray();
            return (string.Join("|", content.Select(t => t!["token"]!.GetValue<string>())), [.. content.Select(t => t!["logprob"]!.GetValue<double>())]);
        }

        var alone = new List<(string Tokens, double[] Logprobs)>();
        foreach (var r in requests) alone.Add(Answer((await HttpApi.PostAsync(Http, "/v1/chat/completions", Request(r))).Body));
        var together = await Task.WhenAll(requests.Select(async r => Answer((await HttpApi.PostAsync(Http, "/v1/chat/completions", Request(r))).Body)));

        Assert.Equal(alone.Select(a => a.Tokens), together.Select(a => a.Tokens));
        // Padding a row changes float sums in the last bits, so log-probabilities agree closely rather than exactly.
        Assert.InRange(alone.Zip(together).SelectMany(p => p.First.Logprobs.Zip(p.Second.Logprobs, (a, b) => Math.Abs(a - b))).Max(), 0, 1e-3);
        Assert.True(alone.Select(a => a.Tokens).Distinct().Count() >= 12, "β and prompt should change the answers, or the comparison is vacuous");
    }

    [Theory]
    [InlineData("stories-offset", "uld_offset_beta", 0.2)] // below the floor: would weaken the forgetting
    [InlineData("stories-offset", "uld_offset_beta", 2.5)]
    [InlineData("stories-offset", "uld_offset_beta", -1.0)]
    [InlineData("stories-offset", "uld_alpha", 1.0)] // α and r belong to ULD deployments
    [InlineData("stories-offset", "uld_relative_top", 0.5)]
    [InlineData("stories", "uld_offset_beta", 1.0)] // and β to offset deployments
    [InlineData("stories-offset", "uld_offset_bta", 1.0)] // a misspelt control is not silently ignored
    public async Task Out_of_policy_values_are_400_naming_the_field(string model, string field, double value)
    {
        await HttpApi.AssertFieldRejectedAsync(Http, model, field, value);
    }

    [Fact]
    public async Task Models_lists_the_beta_policy_and_responses_report_beta()
    {
        var models = JsonNode.Parse(await Http.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        var offset = models.Single(m => m!["id"]!.GetValue<string>() == "stories-offset")!;
        Assert.Null(offset["uld"]);
        Assert.Equal(1.0, offset["offset"]!["beta_default"]!.GetValue<double>());
        Assert.Equal(0.5, offset["offset"]!["beta_min"]!.GetValue<double>());
        Assert.Equal(2.0, offset["offset"]!["beta_max"]!.GetValue<double>());
        Assert.Null(models.Single(m => m!["id"]!.GetValue<string>() == "stories")!["offset"]);

        var answer = await HttpApi.PostAsync(Http, "/v1/chat/completions", HttpApi.Chat("stories-offset", "Once upon a time", 3));
        Assert.Equal(1.0, answer.Body!["uld_offset_beta"]!.GetValue<double>());
        Assert.Null(answer.Body["uld_alpha"]);
    }

    [Fact]
    public async Task A_reference_with_another_vocabulary_stops_start_up()
    {
        var reference = VocabularyChange.CopyWithAnotherVocabulary(fixture.AssistantDirectory, _temp["reference"]);

        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() =>
            LogitServerHost.StartAsync(Settings(fixture.BaseDirectory, reference, fixture.BaseDirectory)));
        Assert.Contains("'stories-offset'", error.Message);
        Assert.Contains("base and reference do not share a vocabulary", error.Message);
    }

    [Theory]
    [InlineData("LogitServer:Deployments:1:BetaMin", "1.5", "LogitServer:Deployments:1:BetaMin (deployment 'stories-offset') must not exceed BetaDefault")]
    [InlineData("LogitServer:Deployments:1:BetaMax", "0.9", "LogitServer:Deployments:1:BetaDefault (deployment 'stories-offset') must not exceed BetaMax")]
    [InlineData("LogitServer:Deployments:1:BetaMin", "-1", "LogitServer:Deployments:1:BetaMin (deployment 'stories-offset') must be a finite number ≥ 0")]
    [InlineData("LogitServer:Deployments:1:Unlearned", null, "LogitServer:Deployments:1:Unlearned is required")]
    [InlineData("LogitServer:Deployments:1:Assistant", "/tmp", "LogitServer:Deployments:1:Assistant is not used by Offset deployments")]
    [InlineData("LogitServer:Deployments:1:BetaMn", "0", "unknown setting LogitServer:Deployments:1:BetaMn")]
    public async Task Bad_offset_settings_stop_start_up_naming_the_key(string key, string? value, string expected)
    {
        var settings = Settings(fixture.BaseDirectory, fixture.AssistantDirectory, fixture.BaseDirectory);
        settings[key] = value;
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.Contains(expected, error.Message);
    }

    /// <summary>Log-probabilities the deployment gives each prompt token after the first (echo + logprobs, no generation).</summary>
    private async Task<double[]> Score(string model, double? beta)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["prompt"] = new JsonArray([.. PromptTokens.Select(t => JsonValue.Create(t))]),
            ["echo"] = true, ["logprobs"] = 1, ["max_tokens"] = 0,
        };
        if (beta is not null) body["uld_offset_beta"] = beta;
        var (status, answer, _) = await HttpApi.PostAsync(Http, "/v1/completions", body);
        Assert.Equal(200, status);
        return [.. answer!["choices"]![0]!["logprobs"]!["token_logprobs"]!.AsArray().Skip(1).Select(t => t!.GetValue<double>())];
    }
}
