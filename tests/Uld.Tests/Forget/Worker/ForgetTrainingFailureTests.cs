using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Tests.Support;

namespace Uld.Tests.Forget.Worker;

/// <summary>
/// What a request shows when its training fails: bad input to the trainer fails it at once with the trainer's own
/// error line; a trainer defect (exit code 1) is run again once from its checkpoint before the request fails, and the
/// transitions say so. The trainer here is a stand-in script with the real CLI's exit codes and error lines.
/// </summary>
public sealed class ForgetTrainingFailureTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private async Task<JsonNode> RunAsync(string script)
    {
        var path = _temp["trainer.sh"];
        File.WriteAllText(path, script);
        var settings = ForgetServiceHost.Settings(_temp.Path, new Uri("http://127.0.0.1:9"));
        settings["Forget:Trainer:Command"] = "sh";
        settings["Forget:Trainer:Arguments:0"] = path;
        await using var service = await ForgetServiceHost.StartAsync(settings);
        using var http = service.Client();
        var (status, body, _) = await HttpApi.PostAsync(http, ForgetRoutes.Requests, new JsonObject
        {
            ["deployment"] = ForgetServiceHost.Deployment,
            ["forget"] = new JsonArray([.. TofuRequestData.Records(TofuRequestData.RequestAuthor, 2).Select(r => System.Text.Json.JsonSerializer.SerializeToNode(r))]),
            ["submitted_by"] = "privacy-team",
        });
        Assert.Equal(202, status);
        return await service.WaitFinalAsync(body!["id"]!.GetValue<string>(), TimeSpan.FromMinutes(1));
    }

    private static List<(string State, string? Detail)> Transitions(JsonNode view) =>
        [.. view["transitions"]!.AsArray().Select(t => (t!["state"]!.GetValue<string>(), t["detail"]?.GetValue<string>()))];

    [Fact]
    public async Task Bad_input_fails_the_request_at_once_with_the_trainers_error_line()
    {
        var view = await RunAsync("echo 'ULD assistant: 0%'; echo 'error: forget.jsonl:3: \"answer\" is missing.'; exit 2\n");
        Assert.Equal(ForgetStates.Failed, view["state"]!.GetValue<string>());
        Assert.Equal("training failed (uld-trainer exit 2): error: forget.jsonl:3: \"answer\" is missing.", view["error"]!.GetValue<string>());
        Assert.Equal(["queued", "training", "failed"], Transitions(view).Select(t => t.State));
    }

    [Fact]
    public async Task A_trainer_defect_is_tried_again_once_then_fails_with_its_exception()
    {
        var count = _temp["runs"];
        var view = await RunAsync($"echo run >> {count}\necho 'error (a defect, please report it): '\necho 'System.Runtime.InteropServices.ExternalException: native failure'\necho '   at Uld.Trainer.Model.RmsNorm.forward'\nexit 1\n");
        Assert.Equal(2, File.ReadAllLines(count).Length);
        Assert.Equal(ForgetStates.Failed, view["state"]!.GetValue<string>());
        Assert.Equal("training failed (uld-trainer exit 1): error (a defect, please report it): System.Runtime.InteropServices.ExternalException: native failure",
            view["error"]!.GetValue<string>());
        var transitions = Transitions(view);
        Assert.Equal(["queued", "training", "training", "failed"], transitions.Select(t => t.State));
        Assert.StartsWith("uld-trainer failed (error (a defect", transitions[2].Detail);
    }
}
