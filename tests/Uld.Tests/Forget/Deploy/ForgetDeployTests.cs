using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Tests.Forget.Gate;
using Uld.Tests.Support;

namespace Uld.Tests.Forget.Deploy;

/// <summary>
/// Deploying to several replicas: a replica that refuses the new entry rolls the others back to the previous one (never
/// half-deployed), and a service stopped in the middle of deploying re-applies the entry idempotently when it starts
/// again — a replica that already serves it is not changed twice. The gated assistant is the default ULD assistant on a
/// request it forgets (see <see cref="ForgetGateTests"/>).
/// </summary>
public sealed class ForgetDeployTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private RestartingAdminReplica _first = null!;
    private RestartingAdminReplica _second = null!;

    public async Task InitializeAsync()
    {
        var entry = RestartingAdminReplica.Plain(ForgetServiceHost.Deployment, RepositoryModels.Target);
        _first = await RestartingAdminReplica.StartAsync(entry);
        _second = await RestartingAdminReplica.StartAsync((JsonObject)entry.DeepClone());
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        _temp.Dispose();
    }

    private Dictionary<string, string?> Settings()
    {
        var settings = ForgetServiceHost.Settings(_temp.Path, _first.Address, _second.Address);
        settings[$"Forget:Deployments:{ForgetServiceHost.Deployment}:GateMaxRecords"] = "10";
        return settings;
    }

    private static int Puts(RestartingAdminReplica replica) => replica.AdminCalls.Count(c => c == ("PUT", ForgetServiceHost.Deployment));

    [Fact]
    public async Task A_replica_that_refuses_the_new_entry_rolls_the_others_back()
    {
        _second.FailPut = (name, _) => name == ForgetServiceHost.Deployment;
        var settings = Settings();
        var id = await ForgetGateTests.SubmitWithKnownAssistantAsync(settings, 196);
        await using var service = await ForgetServiceHost.StartAsync(settings);
        var view = await service.WaitFinalAsync(id, TimeSpan.FromMinutes(5));
        Assert.True(view["state"]!.GetValue<string>() == ForgetStates.Failed, view.ToJsonString());
        var error = view["error"]!.GetValue<string>();
        Assert.Contains(_second.Address.ToString(), error);
        Assert.Contains($"Rolled back to the previous entry: {_first.Address}", error);

        // The first replica took the new entry and was put back; the second never changed: both serve the plain target.
        foreach (var replica in new[] { _first, _second })
        {
            var served = Assert.Single(replica.Deployed);
            Assert.Equal(("Plain", RepositoryModels.Target), (served.Kind, served.Spec["Model"]!.GetValue<string>()));
        }
        Assert.Equal((3, 1), (Assert.Single(_first.Deployed).Version, Assert.Single(_second.Deployed).Version));
        Assert.Equal((2, 1), (Puts(_first), Puts(_second)));
        using var http = service.Client();
        var report = JsonNode.Parse(await http.GetStringAsync(ForgetRoutes.Report(id)))!;
        Assert.Equal(["rolled back", "deploying"], report["replicas"]!.AsArray().Select(r => r!["outcome"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_service_stopped_mid_deploy_reapplies_the_entry_idempotently_when_it_starts_again()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _second.BeforePut = async name =>
        {
            if (name != ForgetServiceHost.Deployment) return;
            held.TrySetResult();
            await release.Task;
        };
        var settings = Settings();
        var id = await ForgetGateTests.SubmitWithKnownAssistantAsync(settings, 196);
        var service = await ForgetServiceHost.StartAsync(settings);
        await held.Task.WaitAsync(TimeSpan.FromMinutes(5));
        // Stopped while the second replica is taking the new entry: the first serves it already.
        Assert.Equal(ForgetStates.Deploying, (await service.WaitAsync(id, _ => true, TimeSpan.FromSeconds(5)))["state"]!.GetValue<string>());
        Assert.Equal("Uld", Assert.Single(_first.Deployed).Kind);
        await service.DisposeAsync();
        release.SetResult();
        _second.BeforePut = null;

        await using var restarted = await ForgetServiceHost.StartAsync(settings);
        var view = await restarted.WaitFinalAsync(id, TimeSpan.FromMinutes(2));
        Assert.True(view["state"]!.GetValue<string>() == ForgetStates.Deployed, view.ToJsonString());
        var transitions = view["transitions"]!.AsArray().Select(t => (t!["state"]!.GetValue<string>(), t["detail"]?.GetValue<string>())).ToList();
        Assert.Contains((ForgetStates.Deploying, "restarted after the service stopped; the deployment is re-applied"), transitions);
        Assert.Equal(ForgetStates.Deployed, transitions[^1].Item1);
        // Both replicas serve the same new entry; the first was changed exactly once.
        Assert.Equal(1, Puts(_first));
        var (a, b) = (Assert.Single(_first.Deployed), Assert.Single(_second.Deployed));
        Assert.Equal(("Uld", "Uld"), (a.Kind, b.Kind));
        Assert.True(JsonNode.DeepEquals(a.Spec, b.Spec));
        Assert.Equal(2, a.Version);
        using var http = restarted.Client();
        var report = JsonNode.Parse(await http.GetStringAsync(ForgetRoutes.Report(id)))!;
        Assert.All(report["replicas"]!.AsArray(), r =>
        {
            Assert.Equal("deployed", r!["outcome"]!.GetValue<string>());
            Assert.NotNull(r["model_sha256_after"]!["assistant"]);
        });
    }
}
