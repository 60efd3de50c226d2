using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Contracts.OpenAi;
using Uld.Forget.Configuration;
using Uld.Forget.Deploy;
using Uld.Forget.Store;
using Uld.Forget.Worker;
using Uld.Web.Admin;

namespace Uld.Forget.Gate;

/// <summary>
/// The gate (docs/FORGET-REQUESTS.md, *Gate*): plans the deployment entry with the new assistant, loads it on the first
/// replica as <c>&lt;deployment&gt;-staging-&lt;id&gt;</c> (keeping the entry as the replica echoes it, which is what is
/// deployed), measures it beside the serving deployment, unloads it again (also when measuring fails) and decides. Re-running it — after a restart — starts from the replica's current entry
/// again and replaces a staging copy left behind.
/// </summary>
public sealed class GateStep(ForgetOptions options, ForgetRequestStore store, RuntimeDeploymentsClient admin, GateEvaluation evaluation, IHttpClientFactory http,
    ILogger<GateStep> logger)
{
    public static string StagingName(RequestRecord request) => $"{request.Deployment}-staging-{request.Id}";

    public async Task<GateResult> RunAsync(RequestRecord request, CancellationToken cancellationToken)
    {
        var d = options.Deployments[request.Deployment];
        var replica = new Uri(options.ReplicasOf(request.Deployment)[0]);
        var current = await admin.FindAsync(replica, request.Deployment, cancellationToken)
                      ?? throw new StepFailedException($"{replica} does not serve '{request.Deployment}'.");
        var assistant = request.Assistant ?? throw new InvalidOperationException("gating a request without a trained assistant.");
        var calibrated = assistant["calibrated_alpha"]?.GetValue<double>();
        var serving = await ServingAlphaAsync(replica, request.Deployment, current.Kind, cancellationToken);
        // The new assistant's weight wᵢ in l_base − α·Σ wᵢ·l_assistantᵢ: its own calibrated α over the α the deployment
        // serves by default, so that at the default α it acts at the strength its calibration chose (1 when either is unknown).
        var weight = calibrated is > 0 && serving is > 0 ? calibrated.Value / serving.Value : 1;
        var planned = PlanEntry(current.Spec, request.Deployment, assistant["path"]!.GetValue<string>(), weight, calibrated, serving, d);

        var staging = StagingName(request);
        var files = new RequestFiles(options.DataDirectory, request.Id);
        var forget = d.Combination == Combination.Union ? files.UnionForget : files.Forget;
        var retainSample = request.Retain is not null ? files.Retain : d.RetainSampleFile ?? d.RetainFile!;
        try
        {
            // The replica answers with the entry as it reads it (LogitServer lists only settings that differ from their
            // defaults): that form is what is deployed and what replicas are later compared with.
            var staged = await admin.PutAsync(replica, staging, DeploymentEntry.Renamed(planned, staging), cancellationToken);
            var intended = DeploymentEntry.Renamed(staged.Spec, request.Deployment);
            store.Update(request.Id, r => r with { EntryBefore = current.Spec, EntryAfter = intended });
            var m = await evaluation.MeasureAsync(replica, request.Deployment, staging, forget, retainSample, d, files.Gate, cancellationToken);
            return GateDecision.Decide(staging, m.ForgetBefore, m.ForgetAfter, m.Holdout, m.RetainBefore, m.RetainAfter, d.ForgetMargin, d.RetainRatio, m.MiaAuc);
        }
        catch (RuntimeDeploymentsException e)
        {
            throw new StepFailedException($"staging the candidate failed: {e.Message}", e);
        }
        finally
        {
            try
            {
                await admin.DeleteAsync(replica, staging, CancellationToken.None);
            }
            catch (RuntimeDeploymentsException e)
            {
                // Left loaded, it serves nobody (no client knows the name); the next gate of this request replaces it.
                logger.LogWarning("Could not unload {Staging}: {Message}", staging, e.Message);
            }
        }
    }

    private JsonObject PlanEntry(JsonObject current, string name, string assistant, double weight, double? calibrated, double? serving, ForgetDeploymentOptions d)
    {
        try
        {
            return DeploymentEntry.WithAssistant(current, name, assistant, weight, calibrated, d, Path.Combine(options.DataDirectory, "requests"), serving);
        }
        catch (InvalidOperationException e)
        {
            throw new StepFailedException(e.Message, e);
        }
    }

    /// <summary>The α a ULD deployment serves by default (<c>GET /v1/models</c>); null for a plain deployment.</summary>
    private async Task<double?> ServingAlphaAsync(Uri replica, string deployment, string kind, CancellationToken cancellationToken)
    {
        if (!kind.Equals("Uld", StringComparison.OrdinalIgnoreCase)) return null;
        using var client = http.CreateClient(ForgetApp.LogitServerClient);
        var models = await client.GetFromJsonAsync<ModelList>(new Uri(replica, "/v1/models"), cancellationToken);
        return models?.Data.FirstOrDefault(m => m.Id == deployment)?.Uld?.AlphaDefault;
    }
}
