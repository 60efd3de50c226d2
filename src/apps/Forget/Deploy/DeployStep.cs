using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Forget.Configuration;
using Uld.Forget.Store;
using Uld.Forget.Worker;
using Uld.Web.Admin;

namespace Uld.Forget.Deploy;

/// <summary>
/// Puts the gated entry on every replica of the deployment (docs/FORGET-REQUESTS.md, *Deploying*), one after another.
/// Idempotent: a replica that already serves the intended entry is left alone, one that serves the previous entry gets
/// the new one, and one that serves anything else is a conflict — the service is not the only one changing it. If any
/// replica fails, every replica that serves the new entry is put back to the previous one, so the deployment is never
/// left half-deployed; the request then fails naming what happened where. What each replica served before and after
/// (version, model files' sha256) is recorded as it goes.
/// </summary>
public sealed class DeployStep(ForgetOptions options, ForgetRequestStore store, RuntimeDeploymentsClient admin, ILogger<DeployStep> logger)
{
    public async Task RunAsync(RequestRecord request, CancellationToken cancellationToken)
    {
        var before = request.EntryBefore ?? throw new InvalidOperationException("deploying without the previous entry.");
        var intended = request.EntryAfter ?? throw new InvalidOperationException("deploying without an entry to deploy.");
        var replicas = options.ReplicasOf(request.Deployment).Select(r => new Uri(r)).ToList();
        var changes = request.Replicas.ToDictionary(c => c.Replica);
        void Record(ReplicaChange change)
        {
            changes[change.Replica] = change;
            var snapshot = replicas.Select(r => changes.GetValueOrDefault(r.ToString())).OfType<ReplicaChange>().ToList();
            store.Update(request.Id, r => r with { Replicas = snapshot });
        }

        foreach (var replica in replicas)
        {
            try
            {
                var current = await admin.FindAsync(replica, request.Deployment, cancellationToken)
                              ?? throw new StepFailedException($"{replica} does not serve '{request.Deployment}'.");
                if (DeploymentEntry.Same(current.Spec, intended))
                {
                    var known = changes.GetValueOrDefault(replica.ToString());
                    Record(new ReplicaChange(replica.ToString(), known?.VersionBefore, current.Version, known?.ModelSha256Before, current.ModelSha256, "deployed"));
                    continue;
                }
                if (!DeploymentEntry.Same(current.Spec, before))
                    throw new StepFailedException($"{replica} serves '{request.Deployment}' version {current.Version} with an entry that is neither the one gated against nor the new one; it was changed outside this service.");
                Record(new ReplicaChange(replica.ToString(), current.Version, null, current.ModelSha256, null, "deploying"));
                var deployed = await admin.PutAsync(replica, request.Deployment, intended, cancellationToken);
                Record(new ReplicaChange(replica.ToString(), current.Version, deployed.Version, current.ModelSha256, deployed.ModelSha256, "deployed"));
            }
            catch (Exception e) when (e is RuntimeDeploymentsException or StepFailedException)
            {
                var rolledBack = await RollBackAsync(request.Deployment, replicas, before, intended, changes, Record);
                throw new StepFailedException($"deploying failed: {e.Message} {rolledBack}", e);
            }
        }
    }

    /// <summary>Every replica serving the new entry gets the previous one back; returns what happened, for the error.</summary>
    private async Task<string> RollBackAsync(string deployment, IReadOnlyList<Uri> replicas, JsonObject before, JsonObject intended,
        Dictionary<string, ReplicaChange> changes, Action<ReplicaChange> record)
    {
        var restored = new List<string>();
        var failed = new List<string>();
        foreach (var replica in replicas)
        {
            try
            {
                var current = await admin.FindAsync(replica, deployment, CancellationToken.None);
                if (current is null || !DeploymentEntry.Same(current.Spec, intended)) continue;
                var back = await admin.PutAsync(replica, deployment, before, CancellationToken.None);
                var known = changes.GetValueOrDefault(replica.ToString());
                record(new ReplicaChange(replica.ToString(), known?.VersionBefore, back.Version, known?.ModelSha256Before, back.ModelSha256, "rolled back"));
                restored.Add(replica.ToString());
            }
            catch (RuntimeDeploymentsException e)
            {
                logger.LogError("Rolling {Deployment} back on {Replica} failed: {Message}", deployment, replica, e.Message);
                failed.Add($"{replica} ({e.Message})");
            }
        }
        var text = restored.Count == 0 ? "No replica had the new entry." : $"Rolled back to the previous entry: {string.Join(", ", restored)}.";
        return failed.Count == 0 ? text : $"{text} ROLLBACK FAILED on {string.Join(", ", failed)}: the deployment differs between replicas until an operator restores it.";
    }
}
