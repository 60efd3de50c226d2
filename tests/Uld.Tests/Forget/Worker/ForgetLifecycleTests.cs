using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Contracts.Models;
using Uld.Tests.Support;

namespace Uld.Tests.Forget.Worker;

/// <summary>
/// A deletion request through the whole lifecycle with a real <c>uld-trainer</c> run on a few TOFU answers, the service
/// running as its own process (uld-forget's Release build) and killed mid-training like a crashed host: the trainer it
/// started lives on, and the restarted service stops that leftover, resumes training from the trainer's checkpoint,
/// gates and deploys.
/// </summary>
[Trait(Category.Name, Category.Slow)]
public sealed class ForgetLifecycleTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private RestartingAdminReplica _replica = null!;

    public async Task InitializeAsync() =>
        _replica = await RestartingAdminReplica.StartAsync(RestartingAdminReplica.Plain(ForgetServiceHost.Deployment, RepositoryModels.Target));

    public async Task DisposeAsync()
    {
        await _replica.DisposeAsync();
        _temp.Dispose();
    }

    /// <summary>Process ids whose command line names <paramref name="marker"/>.</summary>
    private static List<int> ProcessesNaming(string marker) => [.. Directory.EnumerateDirectories("/proc")
        .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : -1).Where(pid => pid > 0)
        .Where(pid =>
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Contains(marker, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        })];

    [Fact]
    public async Task A_request_is_trained_gated_and_deployed_and_a_service_killed_mid_training_resumes_from_the_checkpoint()
    {
        var settings = ForgetServiceHost.Settings(_temp.Path, _replica.Address);
        settings[$"Forget:Deployments:{ForgetServiceHost.Deployment}:GateMaxRecords"] = "10";
        var service = await ChildService.StartAsync(AppBuilds.Forget, settings);
        string id;
        using (var http = new HttpClient { BaseAddress = service.Address })
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", ForgetServiceHost.AdminKey);
            var (status, body, _) = await HttpApi.PostAsync(http, ForgetRoutes.Requests, new JsonObject
            {
                ["deployment"] = ForgetServiceHost.Deployment,
                ["forget"] = new JsonArray([.. TofuRequestData.Records(TofuRequestData.RequestAuthor, 5).Select(r => System.Text.Json.JsonSerializer.SerializeToNode(r))]),
                ["submitted_by"] = "privacy-team",
            });
            Assert.True(status == 202, body?.ToJsonString());
            id = body!["id"]!.GetValue<string>();
        }
        var files = Path.Combine(settings["Forget:DataDirectory"]!, "requests", id);
        var assistant = Path.Combine(files, "assistant");

        // Kill the service once the trainer has written a checkpoint; the trainer it started keeps running.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (!Directory.Exists(assistant + ".checkpoint") && DateTime.UtcNow < deadline && !File.ReadAllText(Path.Combine(files, "audit.json")).Contains("\"failed\"", StringComparison.Ordinal))
            await Task.Delay(200);
        Assert.True(Directory.Exists(assistant + ".checkpoint"), File.ReadAllText(Path.Combine(files, "audit.json")));
        service.Kill();
        var orphans = ProcessesNaming(assistant);
        Assert.NotEmpty(orphans);

        await using var restarted = await ChildService.StartAsync(AppBuilds.Forget, settings);
        using var client = new HttpClient { BaseAddress = restarted.Address, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", ForgetServiceHost.AdminKey);
        JsonNode view;
        deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        do
        {
            await Task.Delay(500);
            view = JsonNode.Parse(await client.GetStringAsync(ForgetRoutes.Request(id)))!;
        }
        while (!ForgetStates.IsFinal(view["state"]!.GetValue<string>()) && DateTime.UtcNow < deadline);

        // The leftover trainer was stopped (not left to race the new one for the same output).
        Assert.All(orphans, pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && ProcessesNaming(assistant).Contains(pid), $"trainer {pid} still runs"));
        var transitions = view["transitions"]!.AsArray().Select(t => (State: t!["state"]!.GetValue<string>(), Detail: t["detail"]?.GetValue<string>())).ToList();
        Assert.Equal(["queued", "training", "training", "gating"], transitions.Take(4).Select(t => t.State));
        Assert.Contains("restarted after the service stopped", transitions[2].Detail);
        Assert.Equal(100, view["progress"]!.GetValue<double>());
        var report = JsonNode.Parse(await client.GetStringAsync(ForgetRoutes.Report(id)))!;
        Assert.Contains("--resume", report["configuration"]!["train_arguments"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal(2, File.ReadLines(Path.Combine(files, "trainer.log")).Count(l => l.StartsWith("$ dotnet", StringComparison.Ordinal)));
        var manifest = ModelDirectory.Open(assistant).Manifest;
        Assert.Equal(("uld", "tofu-mini-target"), (manifest.Method, manifest.BaseModel));
        Assert.Equal(32, manifest.Metrics!["steps"]!.GetValue<int>());
        Assert.Equal(manifest.Files["onnx/model.onnx"], report["assistant"]!["onnx_sha256"]!.GetValue<string>());
        Assert.False(Directory.Exists(assistant + ".checkpoint"));

        // Gated on the request's own answers, which the assistant forgot, and deployed.
        var gate = view["gate"]!;
        Assert.True(gate["forget_after"]!["knowmem"]!.GetValue<double>() < gate["forget_before"]!["knowmem"]!.GetValue<double>(), gate.ToJsonString());
        Assert.True(view["state"]!.GetValue<string>() == ForgetStates.Deployed, view.ToJsonString());
        var served = Assert.Single(_replica.Deployed);
        Assert.Equal(assistant, served.Spec["Assistant"]!.GetValue<string>());
    }
}
