using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>
/// A ULD deployment that sets no AlphaDefault serves its assistant's calibrated α (the manifest's metrics.calibration)
/// when the calibration was made for the deployment's rule and relative-top default; otherwise the fallback 0.8; and
/// a calibrated α outside the deployment's bounds is refused at start-up, not clamped.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CalibratedAlphaTests
{
    private static string CalibratedAssistant(TempDirectory temp, double alpha, string rule)
    {
        var copy = temp["assistant"];
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Stories260KModels.AssistantDirectory, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(copy, Path.GetRelativePath(Stories260KModels.AssistantDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "manifest.json")))!.AsObject();
        var metrics = manifest["metrics"] as JsonObject ?? new JsonObject();
        metrics["calibration"] = new JsonObject { ["recommended_alpha"] = alpha, ["reached"] = true, ["rule"] = rule, ["relative_top"] = 0.0 };
        manifest["metrics"] = metrics;
        File.WriteAllText(Path.Combine(copy, "manifest.json"), manifest.ToJsonString());
        return copy;
    }

    private static Dictionary<string, string?> Deployment(int i, string name, string assistant, string rule, string? alphaDefault = null) => new()
    {
        [$"LogitServer:Deployments:{i}:Name"] = name, [$"LogitServer:Deployments:{i}:Kind"] = "Uld",
        [$"LogitServer:Deployments:{i}:Base"] = Stories260KModels.BaseDirectory, [$"LogitServer:Deployments:{i}:Assistant"] = assistant,
        [$"LogitServer:Deployments:{i}:Rule"] = rule, [$"LogitServer:Deployments:{i}:RelativeTopDefault"] = "0",
        [$"LogitServer:Deployments:{i}:AlphaMin"] = "0.5", [$"LogitServer:Deployments:{i}:AlphaMax"] = "3",
        [$"LogitServer:Deployments:{i}:AlphaDefault"] = alphaDefault,
    };

    [Fact]
    public async Task The_calibrated_alpha_is_the_default_only_for_the_rule_it_was_calibrated_for()
    {
        using var temp = new TempDirectory();
        var assistant = CalibratedAssistant(temp, 1.625, "SuppressOnly");
        var settings = Deployment(0, "calibrated", assistant, "SuppressOnly")
            .Concat(Deployment(1, "other-rule", assistant, "Difference"))
            .Concat(Deployment(2, "configured", assistant, "SuppressOnly", alphaDefault: "2.5"))
            .Where(kv => kv.Value is not null).ToDictionary();
        await using var server = await LogitServerHost.StartAsync(settings);

        var models = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().ToDictionary(m => m!["id"]!.GetValue<string>());
        double Default(string name) => models[name]!["uld"]!["alpha_default"]!.GetValue<double>();
        Assert.Equal((1.625, 0.8, 2.5), (Default("calibrated"), Default("other-rule"), Default("configured")));

        // A request without uld_alpha is served at the calibrated α, and says so.
        var (status, response, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("calibrated", "Once upon a time", 2));
        Assert.Equal(200, status);
        Assert.Equal(1.625, response!["uld_alpha"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_calibrated_alpha_outside_the_bounds_stops_start_up_with_a_clear_message()
    {
        using var temp = new TempDirectory();
        var assistant = CalibratedAssistant(temp, 3.5, "SuppressOnly");
        var settings = Deployment(0, "too-high", assistant, "SuppressOnly").Where(kv => kv.Value is not null).ToDictionary();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await LogitServerHost.StartAsync(settings)).DisposeAsync());
        Assert.Contains("the assistant's calibrated α 3.5 is outside [AlphaMin 0.5, AlphaMax 3]", error.ToString());
    }
}
