using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Uld.Evaluation.Data;
using Uld.Evaluation.Metrics;
using Uld.Eval.Client;
using Uld.Tests.Support;

namespace Uld.Tests.EndToEnd;

/// <summary>
/// The committed default models, served exactly as quickstart.sh serves them (models/deployments.json): the ULD
/// deployment must have forgotten the forget authors and still answer retain questions like the target.
/// </summary>
[Trait(Category.Name, Category.Slow)]
public sealed class DefaultModelsTests
{
    [Fact]
    public async Task Quickstart_uld_deployment_forgets_the_forget_authors_and_answers_retain_questions_like_the_target()
    {
        var root = SharedPaths.RepositoryRoot;
        var settings = RepositoryModels.DefaultDeploymentSettings();
        await using var server = await LogitServerHost.StartAsync(settings);
        var client = new UldApiClient(server.Http);

        // The listing the gateway reads its α floors from says what the file says.
        var models = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        Assert.Equal(["tofu-mini-target", "tofu-mini-uld", "tofu-mini-npo-gd"], models.Select(m => m!["id"]!.GetValue<string>()));
        var policy = models[1]!["uld"]!;
        // No α in the file: the deployment serves the assistant's calibrated α, above the file's floor.
        Assert.DoesNotContain(settings.Keys, k => k.EndsWith(":AlphaDefault", StringComparison.Ordinal));
        var calibrated = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "models", "tofu-mini-uld", "manifest.json")))!["metrics"]!["calibration"]!;
        Assert.Equal("SuppressOnly", calibrated["rule"]!.GetValue<string>());
        Assert.Equal(calibrated["recommended_alpha"]!.GetValue<double>(), policy["alpha_default"]!.GetValue<double>());
        Assert.Equal(double.Parse(settings["LogitServer:Deployments:1:AlphaMin"]!, System.Globalization.CultureInfo.InvariantCulture), policy["alpha_min"]!.GetValue<double>());
        Assert.True(policy["alpha_min"]!.GetValue<double>() <= policy["alpha_default"]!.GetValue<double>());
        Assert.Equal((4.0, 0.0, 0.0, 1.0), (policy["alpha_max"]!.GetValue<double>(), policy["relative_top_default"]!.GetValue<double>(),
            policy["relative_top_min"]!.GetValue<double>(), policy["relative_top_max"]!.GetValue<double>()));
        Assert.Equal("suppress_only", policy["rule"]!.GetValue<string>());

        var split = TofuSplitDefinition.Load(Path.Combine(root, "data", "tofu-mini.json"));
        var (forget, retain) = TofuDataset.Load(SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"))).Split(split, "forget4");
        var retainSample = retain.Where((_, i) => i % 9 == 0).ToList(); // 40 questions across all retain authors
        using var gate = new SemaphoreSlim(16);
        async Task<double> RougeAsync(string model, IReadOnlyList<TofuRecord> records) => (await Task.WhenAll(records.Select(async r =>
        {
            await gate.WaitAsync();
            try
            {
                return RougeL.Recall(r.Answer, await client.AnswerAsync(new DeploymentRef(model), r.Question, 200, default));
            }
            finally
            {
                gate.Release();
            }
        }))).Average();

        var target = (Forget: await RougeAsync("tofu-mini-target", forget), Retain: await RougeAsync("tofu-mini-target", retainSample));
        var uld = (Forget: await RougeAsync("tofu-mini-uld", forget), Retain: await RougeAsync("tofu-mini-uld", retainSample));
        var report = $"target forget {target.Forget:F3} / retain {target.Retain:F3}; ULD forget {uld.Forget:F3} / retain {uld.Retain:F3}";
        Assert.True(target.Forget > 0.8, $"the target must know the forget authors — {report}");
        Assert.True(uld.Forget < 0.5 * target.Forget, $"ULD must have forgotten them — {report}");
        Assert.True(uld.Retain > 0.9 * target.Retain, $"ULD must keep the retain authors — {report}");
    }

    [Fact]
    public void Quickstart_and_compose_serve_the_one_default_deployment_file_and_name_the_experiment_alike()
    {
        var root = SharedPaths.RepositoryRoot;
        string Read(string path) => File.ReadAllText(Path.Combine(root, path));
        var compose = Read("compose.yaml");
        var quickstart = Read("quickstart.sh");
        Assert.Contains("\"--config\", \"models/deployments.json\"", compose);
        Assert.Contains("--config models/deployments.json", quickstart);
        // Values live in the file only: neither repeats a deployment setting.
        Assert.DoesNotContain("LogitServer__Deployments", compose);
        Assert.DoesNotContain("Alpha", quickstart);
        Assert.DoesNotContain("Alpha", compose.Replace("AlphaFloors", "", StringComparison.Ordinal));
        // One experiment name everywhere it is configured: compose's gateway, the quickstart's (built from its model
        // prefix) and the benchmark's, which also evaluates it; compose's variants are deployments the file serves.
        var served = RepositoryModels.DefaultDeploymentSettings().Where(kv => kv.Key.EndsWith(":Name", StringComparison.Ordinal)).Select(kv => kv.Value).ToHashSet();
        var composeExperiments = Experiments(compose);
        Assert.Equal(["tofu-mini-ab"], composeExperiments.Keys);
        Assert.All(composeExperiments.Values.SelectMany(v => v), model => Assert.Contains(model, served));
        var prefix = Regex.Match(quickstart, @"BASELINE=models/tofu-mini-npo-gd; NAME=(?<name>[\w-]+);").Groups["name"].Value;
        Assert.Contains("\"Gateway__Experiments__$NAME-ab__Variants__0__Name=uld\"", quickstart);
        Assert.Equal("tofu-mini-ab", prefix + "-ab");
        var bench = Read("bench/tofu-mini.sh");
        Assert.Equal(composeExperiments.Keys, Experiments(bench).Keys);
        Assert.Equal(composeExperiments.Keys, Regex.Matches(bench, @"--experiment (?<name>[\w-]+)").Select(m => m.Groups["name"].Value).Distinct());
        Assert.False(File.Exists(Path.Combine(root, "src", "apps", "LogitServer", "appsettings.Example.json")), "models/deployments.json is the one example");
    }

    /// <summary>The gateway experiments a file configures (<c>Gateway__Experiments__NAME__Variants__i__Model</c>) and their variants' models.</summary>
    private static SortedDictionary<string, List<string>> Experiments(string text)
    {
        var experiments = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (Match m in Regex.Matches(text, @"Gateway__Experiments__(?<name>[\w-]+)__Variants__\d+__Model[:=] *(?<model>[^\s""]+)"))
        {
            if (!experiments.TryGetValue(m.Groups["name"].Value, out var models)) experiments[m.Groups["name"].Value] = models = [];
            models.Add(m.Groups["model"].Value);
        }
        return experiments;
    }
}
