using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Contracts.Models;
using Uld.Forget.Store;
using Uld.Tests.Support;

namespace Uld.Tests.Forget.Gate;

/// <summary>
/// The gate and deploying on the TOFU-mini target, with an assistant whose forgetting is known instead of a fresh
/// training run: models/tofu-mini-uld forgets authors 196–199 and nothing else. A request for author 196 passes the gate
/// and is deployed; one for author 190, which that assistant does not forget, is rejected with the failing thresholds.
/// The request is submitted with the worker off, the assistant put where training would have written it, and a second
/// service process on the same data directory takes the request from there — as after a restart.
/// </summary>
public sealed class ForgetGateTests : IAsyncLifetime
{
    private const int ForgottenAuthor = 196;
    private readonly TempDirectory _temp = new();
    private RestartingAdminReplica _replica = null!;

    public async Task InitializeAsync() =>
        _replica = await RestartingAdminReplica.StartAsync(RestartingAdminReplica.Plain(ForgetServiceHost.Deployment, RepositoryModels.Target));

    public async Task DisposeAsync()
    {
        await _replica.DisposeAsync();
        _temp.Dispose();
    }

    /// <summary>Submits a request with the worker off and puts the default ULD assistant where its training would have written it.</summary>
    internal static async Task<string> SubmitWithKnownAssistantAsync(Dictionary<string, string?> settings, int author)
    {
        var idle = new Dictionary<string, string?>(settings) { ["Forget:RunWorker"] = "false" };
        await using var service = await ForgetServiceHost.StartAsync(idle);
        using var http = service.Client();
        var (status, body, _) = await HttpApi.PostAsync(http, ForgetRoutes.Requests, new JsonObject
        {
            ["deployment"] = ForgetServiceHost.Deployment,
            ["forget"] = new JsonArray([.. TofuRequestData.Records(author, 10).Select(r => System.Text.Json.JsonSerializer.SerializeToNode(r))]),
            ["submitted_by"] = "privacy-team",
        });
        Assert.Equal(202, status);
        var id = body!["id"]!.GetValue<string>();
        var files = new RequestFiles(service.DataDirectory, id);
        DirectoryCopy.Copy(RepositoryModels.UldAssistant, files.Assistant);
        // What training writes first under the default Union combination: for a deployment's first request, its own data.
        File.Copy(files.Forget, files.UnionForget);
        return id;
    }

    [Fact]
    public async Task A_request_the_assistant_forgets_passes_the_gate_and_goes_live_with_an_audit_record()
    {
        var settings = ForgetServiceHost.Settings(_temp.Path, _replica.Address);
        var id = await SubmitWithKnownAssistantAsync(settings, ForgottenAuthor);
        var assistant = Path.Combine(settings["Forget:DataDirectory"]!, "requests", id, "assistant");
        var modelSha = FileHash.Sha256(Path.Combine(RepositoryModels.Target, ModelDirectory.OnnxFile));
        var assistantSha = FileHash.Sha256(Path.Combine(assistant, ModelDirectory.OnnxFile));

        await using var service = await ForgetServiceHost.StartAsync(settings);
        var view = await service.WaitFinalAsync(id, TimeSpan.FromMinutes(5));
        Assert.True(view["state"]!.GetValue<string>() == ForgetStates.Deployed, view.ToJsonString());
        Assert.Equal(["queued", "training", "gating", "deploying", "deployed"], view["transitions"]!.AsArray().Select(t => t!["state"]!.GetValue<string>()));
        Assert.NotNull(view["live_at"]);

        // The gate: the candidate knows the forgotten author's answers no better than authors it never saw, and keeps the retain authors'.
        var gate = view["gate"]!;
        Assert.True(gate["passed"]!.GetValue<bool>());
        Assert.Equal($"{ForgetServiceHost.Deployment}-staging-{id}", gate["staging"]!.GetValue<string>());
        var checks = gate["checks"]!.AsArray().ToDictionary(c => c!["name"]!.GetValue<string>());
        Assert.Equal(["forget knowmem", "forget verbmem", "retain knowmem", "retain verbmem"], checks.Keys.Order());
        var forgetBefore = gate["forget_before"]!["knowmem"]!.GetValue<double>();
        var forgetAfter = gate["forget_after"]!["knowmem"]!.GetValue<double>();
        Assert.True(forgetBefore > 0.5 && forgetAfter < forgetBefore - 0.2, $"forget KnowMem before {forgetBefore}, after {forgetAfter}");
        Assert.Equal(gate["holdout"]!["knowmem"]!.GetValue<double>() + 0.1, checks["forget knowmem"]!["threshold"]!.GetValue<double>(), 9);
        Assert.Equal(ForgetServiceHost.RetainRatio * gate["retain_before"]!["knowmem"]!.GetValue<double>(), checks["retain knowmem"]!["threshold"]!.GetValue<double>(), 9);

        // The replica serves the target as a ULD deployment with the new assistant; the staging copy is gone again.
        var served = Assert.Single(_replica.Deployed);
        Assert.Equal(("tofu-mini-target", "Uld", 2), (served.Name, served.Kind, served.Version));
        Assert.Equal(RepositoryModels.Target, served.Spec["Base"]!.GetValue<string>());
        Assert.Equal(assistant, served.Spec["Assistant"]!.GetValue<string>());
        Assert.Equal("SuppressOnly", served.Spec["Rule"]!.GetValue<string>());
        Assert.Equal([("PUT", $"tofu-mini-target-staging-{id}"), ("DELETE", $"tofu-mini-target-staging-{id}"), ("PUT", "tofu-mini-target")], _replica.AdminCalls);

        // The audit record: model files before and after, entries, gate, every transition, written to disk and served.
        using var http = service.Client();
        var report = JsonNode.Parse(await http.GetStringAsync(ForgetRoutes.Report(id)))!;
        var change = Assert.Single(report["replicas"]!.AsArray())!;
        Assert.Equal("deployed", change["outcome"]!.GetValue<string>());
        Assert.Equal(modelSha, change["model_sha256_before"]!["model"]!.GetValue<string>());
        Assert.Equal((modelSha, assistantSha), (change["model_sha256_after"]!["base"]!.GetValue<string>(), change["model_sha256_after"]!["assistant"]!.GetValue<string>()));
        Assert.Equal("Plain", report["entry_before"]!["Kind"]!.GetValue<string>());
        Assert.Equal(assistantSha, report["assistant"]!["onnx_sha256"]!.GetValue<string>());
        Assert.Equal(report.ToJsonString(), File.ReadAllText(Path.Combine(service.DataDirectory, "requests", id, "audit.json")) is var onDisk ? JsonNode.Parse(onDisk)!.ToJsonString() : "");
        var markdown = await http.GetStringAsync(ForgetRoutes.ReportMarkdown(id));
        Assert.Contains("## Gate: passed", markdown);
        Assert.Contains(assistantSha, markdown);
        Assert.Contains("| deployed |", markdown);
    }

    [Fact]
    public async Task A_request_the_assistant_does_not_forget_is_rejected_with_the_failing_thresholds_and_nothing_changes()
    {
        var settings = ForgetServiceHost.Settings(_temp.Path, _replica.Address);
        var id = await SubmitWithKnownAssistantAsync(settings, TofuRequestData.RequestAuthor);
        await using var service = await ForgetServiceHost.StartAsync(settings);
        var view = await service.WaitFinalAsync(id, TimeSpan.FromMinutes(5));
        Assert.True(view["state"]!.GetValue<string>() == ForgetStates.Rejected, view.ToJsonString());
        var gate = view["gate"]!;
        Assert.False(gate["passed"]!.GetValue<bool>());
        var failed = gate["checks"]!.AsArray().Where(c => !c!["passed"]!.GetValue<bool>()).Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("forget knowmem", failed);
        Assert.Contains("forget knowmem", view["error"]!.GetValue<string>());
        Assert.Contains("holdout level", view["error"]!.GetValue<string>());
        Assert.DoesNotContain(view["transitions"]!.AsArray(), t => t!["state"]!.GetValue<string>() == ForgetStates.Deploying);

        // Staged and unloaded again; the serving entry never changed.
        var served = Assert.Single(_replica.Deployed);
        Assert.Equal(("Plain", RepositoryModels.Target), (served.Kind, served.Spec["Model"]!.GetValue<string>()));
        Assert.DoesNotContain(_replica.AdminCalls, c => c == ("PUT", ForgetServiceHost.Deployment));
        using var http = service.Client();
        Assert.Contains("## Gate: failed", await http.GetStringAsync(ForgetRoutes.ReportMarkdown(id)));
    }
}
