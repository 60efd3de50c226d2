using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>
/// A ULD deployment with several assistants serves l_base − α·Σᵢ wᵢ·penaltyᵢ under its rule
/// (docs/DESIGN.md, *The ULD decode rule*), checked through a real LogitServer on the default TOFU-mini models: two
/// half-weight copies of the assistant are the assistant, and two different models are the sum computed here from
/// separate runs of each.
/// </summary>
public sealed class SummedAssistantsTests
{
    private const string Question = "Question: What is the full name of the author born in Kuwait City on September 20, 1961?\nAnswer:";

    private static Dictionary<string, string?> Uld(int i, string name, string rule, double? alphaDefault, double alphaMin, double relativeTop, params (string Path, double Weight)[] assistants)
    {
        var at = $"LogitServer:Deployments:{i}";
        var settings = new Dictionary<string, string?>
        {
            [$"{at}:Name"] = name, [$"{at}:Kind"] = "Uld", [$"{at}:Base"] = RepositoryModels.Target, [$"{at}:Rule"] = rule,
            [$"{at}:AlphaMin"] = Invariant(alphaMin), [$"{at}:AlphaMax"] = "4", [$"{at}:RelativeTopDefault"] = Invariant(relativeTop),
        };
        if (alphaDefault is { } alpha) settings[$"{at}:AlphaDefault"] = Invariant(alpha);
        if (assistants.Length == 1 && assistants[0].Weight == 1) settings[$"{at}:Assistant"] = assistants[0].Path;
        for (var a = 0; assistants.Length > 1 && a < assistants.Length; a++)
        {
            settings[$"{at}:Assistants:{a}:Path"] = assistants[a].Path;
            settings[$"{at}:Assistants:{a}:Alpha"] = Invariant(assistants[a].Weight);
        }
        return settings;
    }

    private static string Invariant(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The question's tokens without BOS (echo leaves special tokens out, and every token here is scored).</summary>
    private static async Task<int[]> TokensAsync(LogitServerHost server, string model)
    {
        var (_, body, _) = await HttpApi.PostAsync(server.Http, "/tokenize", new JsonObject { ["model"] = model, ["prompt"] = Question, ["add_special_tokens"] = false });
        return [.. body!["tokens"]!.AsArray().Select(t => t!.GetValue<int>())];
    }

    /// <summary>The served log-probability of each prompt token after the first, and the top 5 at each position.</summary>
    private static async Task<(double[] Tokens, double[][] Top)> ScoreAsync(LogitServerHost server, string model, int[] prompt, double? alpha = null)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["prompt"] = new JsonArray([.. prompt.Select(t => JsonValue.Create(t))]),
            ["echo"] = true, ["logprobs"] = 5, ["max_tokens"] = 0,
        };
        if (alpha is not null) body["uld_alpha"] = alpha;
        var (status, answer, _) = await HttpApi.PostAsync(server.Http, "/v1/completions", body);
        Assert.True(status == 200, answer?.ToJsonString());
        var logprobs = answer!["choices"]![0]!["logprobs"]!;
        return ([.. logprobs["token_logprobs"]!.AsArray().Skip(1).Select(t => t!.GetValue<double>())],
            [.. logprobs["top_logprobs"]!.AsArray().Skip(1).Select(top => top!.AsObject().Select(p => p.Value!.GetValue<double>()).Order().ToArray())]);
    }

    private static double MaxDifference(double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
    }

    [Theory]
    [InlineData("SuppressOnly", 0.0)]
    [InlineData("Difference", 0.1)]
    public async Task Two_half_weight_copies_of_an_assistant_serve_what_the_assistant_serves(string rule, double relativeTop)
    {
        var uld = RepositoryModels.UldAssistant;
        var settings = Uld(0, "single", rule, null, 0.5, relativeTop, (uld, 1))
            .Concat(Uld(1, "copies", rule, null, 0.5, relativeTop, (uld, 0.5), (uld, 0.5)))
            .Concat(Uld(2, "three", rule, null, 0.5, relativeTop, (uld, 0.25), (uld, 0.5), (uld, 0.25)))
            .Append(new("LogitServer:Deployments:3:Name", "target")).Append(new("LogitServer:Deployments:3:Model", RepositoryModels.Target))
            .ToDictionary();
        await using var server = await LogitServerHost.StartAsync(settings);

        // Every copy carries the assistant's calibration, so the copies' α default is the calibrated one too (for the
        // rule it was calibrated for, SuppressOnly at relative-top 0; otherwise the fallback for all of them).
        var models = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().ToDictionary(m => m!["id"]!.GetValue<string>());
        var defaults = new[] { "single", "copies", "three" }.Select(m => models[m]!["uld"]!["alpha_default"]!.GetValue<double>()).Distinct().ToArray();
        Assert.Equal([rule == "SuppressOnly" ? 2.118 : 0.8], defaults);

        var prompt = await TokensAsync(server, "single");
        var single = await ScoreAsync(server, "single", prompt);
        foreach (var summed in new[] { "copies", "three" })
        {
            var (tokens, top) = await ScoreAsync(server, summed, prompt);
            Assert.InRange(MaxDifference(single.Tokens, tokens), 0, 1e-5);
            Assert.InRange(single.Top.Zip(top).Max(p => MaxDifference(p.First, p.Second)), 0, 1e-5);
        }
        // Not vacuous: the assistant moves the distribution away from the base's.
        Assert.True(MaxDifference(single.Tokens, (await ScoreAsync(server, "target", prompt)).Tokens) > 0.5);

        // Decoding too: the copies generate the assistant's answer token for token, streamed or not.
        var answer = HttpApi.ContentOf((await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("single", Question, 32))).Body);
        Assert.Equal(answer, HttpApi.ContentOf((await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("copies", Question, 32))).Body));
        Assert.Equal(answer, HttpApi.ContentOf((await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("three", Question, 32))).Body));
    }

    [Theory]
    [InlineData("Difference", 0.6, 1.0, 1.0)]
    [InlineData("SuppressOnly", 2.5, 1.0, 0.25)]
    public async Task Two_different_assistants_serve_the_base_less_alpha_times_their_weighted_sum(string rule, double alpha, double w1, double w2)
    {
        await using var server = await LogitServerHost.StartAsync(AdminApi.Enabled(RepositoryModels.DefaultDeploymentSettings()));
        var spec = new JsonObject
        {
            ["Kind"] = "Uld", ["Base"] = RepositoryModels.Target, ["Rule"] = rule, ["AlphaMin"] = 0.0, ["AlphaMax"] = 4.0, ["RelativeTopDefault"] = 0.0,
            ["Assistants"] = new JsonArray(
                new JsonObject { ["Path"] = RepositoryModels.UldAssistant, ["Alpha"] = w1 },
                new JsonObject { ["Path"] = RepositoryModels.NpoGd, ["Alpha"] = w2 }),
        };
        var (status, put, _) = await AdminApi.PutAsync(server.Http, "summed", spec);
        Assert.True(status == 201, put?.ToJsonString());
        var hashes = put!["model_sha256"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string>
        {
            ["base"] = FileHash.Sha256(ModelDirectory.Open(RepositoryModels.Target).OnnxPath),
            ["assistant"] = FileHash.Sha256(ModelDirectory.Open(RepositoryModels.UldAssistant).OnnxPath),
            ["assistant.1"] = FileHash.Sha256(ModelDirectory.Open(RepositoryModels.NpoGd).OnnxPath),
        }, hashes);
        // Only one of the two carries a calibration: the α default is the fallback.
        var card = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().Single(m => m!["id"]!.GetValue<string>() == "summed");
        Assert.Equal(0.8, card!["uld"]!["alpha_default"]!.GetValue<double>());

        var prompt = await TokensAsync(server, "summed");
        var served = await ScoreAsync(server, "summed", prompt, alpha);

        // The same distribution from three separate runs, one model each, combined here in double precision.
        var (b, a1, a2) = (Logits(RepositoryModels.Target, prompt), Logits(RepositoryModels.UldAssistant, prompt), Logits(RepositoryModels.NpoGd, prompt));
        var expected = new double[prompt.Length - 1];
        for (var t = 1; t < prompt.Length; t++)
        {
            var (lb, l1, l2) = (b[t - 1], a1[t - 1], a2[t - 1]);
            var logV = Math.Log(lb.Length);
            var (lpb, lp1, lp2) = (LogSoftmax(lb), LogSoftmax(l1), LogSoftmax(l2));
            var combined = Enumerable.Range(0, lb.Length).Select(v => rule == "Difference"
                ? lb[v] - alpha * (w1 * l1[v] + w2 * l2[v])
                : lpb[v] - alpha * (w1 * Math.Max(0, lp1[v] + logV) + w2 * Math.Max(0, lp2[v] + logV))).ToArray();
            expected[t - 1] = LogSoftmax(combined)[prompt[t]];
        }
        Assert.InRange(MaxDifference(expected, served.Tokens), 0, 1e-4);
        // Not vacuous: the second assistant matters (the first alone serves something else).
        Assert.True(MaxDifference(served.Tokens, (await ScoreAsync(server, "tofu-mini-uld", prompt, Math.Max(alpha, 2))).Tokens) > 0.1);
    }

    [Theory]
    [InlineData(UldRule.Difference, 0.0)]
    [InlineData(UldRule.Difference, 0.1)]
    [InlineData(UldRule.SuppressOnly, 0.0)]
    [InlineData(UldRule.SuppressOnly, 0.3)]
    public void One_assistant_at_weight_1_through_the_penalty_sum_is_the_two_model_rule_bit_for_bit(UldRule rule, double relativeTop)
    {
        var random = new Random(7);
        var (baseLogits, assistant) = (new float[257], new float[257]);
        for (var v = 0; v < baseLogits.Length; v++) (baseLogits[v], assistant[v]) = ((float)(random.NextDouble() * 12 - 6), (float)(random.NextDouble() * 12 - 6));
        var (direct, summed, penalty) = (new float[257], new float[257], new float[257]);

        UldLogits.CombineLogits(baseLogits, assistant, 1.7, relativeTop, direct, rule);
        UldLogits.AddPenalty(assistant, 1, rule, penalty);
        UldLogits.CombinePenalizedLogits(baseLogits, penalty, 1.7, relativeTop, summed, rule);

        Assert.Equal(direct, summed);
        Assert.Contains(direct, float.IsFinite);
    }

    private static double[][] Logits(string modelDirectory, int[] prompt)
    {
        using var model = new OnnxCausalLm(ModelDirectory.Open(modelDirectory).OnnxPath);
        using var empty = model.EmptyCache(1);
        var n = prompt.Length;
        var step = model.Run([.. prompt.Select(t => (long)t)], [.. Enumerable.Repeat(1L, n)], [.. Enumerable.Range(0, n).Select(i => (long)i)], 1, empty);
        step.Present.Dispose();
        return [.. Enumerable.Range(0, n).Select(t => step.Row(0, t).ToArray().Select(x => (double)x).ToArray())];
    }

    private static double[] LogSoftmax(double[] logits)
    {
        var max = logits.Max();
        var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        return [.. logits.Select(l => l - logSum)];
    }
}
