using System.Text.Json.Nodes;
using Uld.Contracts.Admin;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// One version of a deployment as the registry serves it: its loaded sessions, its own scheduler, and what the admin
/// API reports about it. Requests hold it through <see cref="DeploymentLease"/>s; once the registry has retired it
/// (replaced or unloaded) and the last lease is gone, its scheduler drains and its session leases are released
/// (docs/DESIGN.md, *Runtime deployments*).
/// </summary>
public sealed class DeploymentVersion
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<DeploymentVersion> _onRetired;
    /// <summary>The registry's own hold (1 while the version is in the snapshot) plus one per lease.</summary>
    private int _holds = 1;

    public DeploymentVersion(LoadedDeployment loaded, BatchScheduler scheduler, int version, JsonObject spec, DateTimeOffset loadedAt, double loadSeconds,
        Action<DeploymentVersion> onRetired)
    {
        Deployment = loaded.Deployment;
        Scheduler = scheduler;
        Version = version;
        Spec = spec;
        ModelSha256 = loaded.ModelSha256;
        LoadedAt = loadedAt;
        LoadSeconds = loadSeconds;
        _onRetired = onRetired;
    }

    public Deployment Deployment { get; }
    public BatchScheduler Scheduler { get; }
    public string Name => Deployment.Name;
    public int Version { get; }
    /// <summary>The deployments.json entry this version was loaded from (<see cref="DeploymentSpec"/>).</summary>
    public JsonObject Spec { get; }
    public IReadOnlyDictionary<string, string> ModelSha256 { get; }
    public DateTimeOffset LoadedAt { get; }
    public double LoadSeconds { get; }

    /// <summary>Completes when the version is out of the snapshot and no request holds it any more.</summary>
    public Task Released => _released.Task;

    public DeployedVersion Describe() =>
        new(Name, Version, Deployment.Kind.Name, (JsonObject)Spec.DeepClone(), ModelSha256, LoadedAt, LoadSeconds);

    /// <summary>A hold for one request; null once the version has been retired and released (the caller looks again).</summary>
    internal DeploymentLease? TryLease()
    {
        for (var holds = Volatile.Read(ref _holds); holds > 0; holds = Volatile.Read(ref _holds))
        {
            if (Interlocked.CompareExchange(ref _holds, holds + 1, holds) == holds) return new DeploymentLease(this);
        }
        return null;
    }

    /// <summary>Drops the registry's hold: called once, after the version left the snapshot.</summary>
    internal void Retire() => Release();

    internal void Release()
    {
        if (Interlocked.Decrement(ref _holds) != 0) return;
        _released.TrySetResult();
        _onRetired(this);
    }
}

/// <summary>
/// A request's hold on the deployment version it was admitted to: the version's scheduler keeps running and its
/// sessions stay loaded until every lease is disposed, whatever replaces or unloads it meanwhile.
/// </summary>
public sealed class DeploymentLease : IDisposable
{
    private DeploymentVersion? _version;

    internal DeploymentLease(DeploymentVersion version)
    {
        _version = version;
        Version = version;
    }

    public DeploymentVersion Version { get; }
    public Deployment Deployment => Version.Deployment;
    public BatchScheduler Scheduler => Version.Scheduler;

    public void Dispose() => Interlocked.Exchange(ref _version, null)?.Release();
}
