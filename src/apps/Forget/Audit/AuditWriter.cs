using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Contracts.Forget;
using Uld.Contracts.Models;
using Uld.Forget.Configuration;
using Uld.Forget.Store;

namespace Uld.Forget.Audit;

/// <summary>
/// Writes a request's audit record (docs/FORGET-REQUESTS.md, *Audit record*) as <c>audit.json</c> and <c>audit.md</c>
/// in its directory after every committed change, each atomically: a reader — the API or an auditor with the data
/// directory — sees the previous complete record or the new one, never half of one.
/// </summary>
public sealed class AuditWriter(ForgetOptions options, ForgetRequestStore store, TimeProvider clock)
{
    private readonly Lock _writing = new();

    public AuditRecord Build(RequestRecord request) => new(
        request.ToView(store.Transitions(request.Id)),
        Configuration(request),
        request.Assistant?.DeepClone().AsObject(),
        request.EntryBefore?.DeepClone().AsObject(),
        request.EntryAfter?.DeepClone().AsObject(),
        request.Replicas,
        clock.GetUtcNow());

    public void Write(RequestRecord request)
    {
        var record = Build(request);
        var files = new RequestFiles(options.DataDirectory, request.Id);
        lock (_writing)
        {
            Directory.CreateDirectory(files.Directory);
            AtomicFile.WriteAllText(files.AuditJson, JsonSerializer.Serialize(record, Json.Options));
            AtomicFile.WriteAllText(files.AuditMarkdown, AuditMarkdown.Write(record));
        }
    }

    /// <summary>The method and everything configured that shaped the result, with the sha256 of the files it names.</summary>
    private JsonObject Configuration(RequestRecord request)
    {
        var d = options.Deployments.GetValueOrDefault(request.Deployment);
        var configuration = new JsonObject { ["method"] = request.Method };
        if (d is null) return configuration;
        configuration["combination"] = d.Combination.ToString();
        configuration["target_model"] = d.TargetModel;
        configuration["target_manifest_sha256"] = Sha256OrNull(Path.Combine(d.TargetModel, ModelManifest.FileName));
        configuration["holdout_file"] = File(d.HoldoutFile);
        if (d.RetainFile is not null) configuration["retain_file"] = File(d.RetainFile);
        if (d.RetainSampleFile is not null) configuration["retain_sample_file"] = File(d.RetainSampleFile);
        configuration["forget_margin"] = d.ForgetMargin;
        configuration["retain_ratio"] = d.RetainRatio;
        configuration["gate_max_records"] = d.GateMaxRecords;
        configuration["eval_arguments"] = new JsonArray([.. d.EvalArguments.Select(a => (JsonNode)a)]);
        configuration["train_arguments"] = new JsonArray([.. (request.TrainArguments ?? d.TrainArguments).Select(a => (JsonNode)a)]);
        configuration["replicas"] = new JsonArray([.. options.ReplicasOf(request.Deployment).Select(r => (JsonNode)r)]);
        return configuration;
    }

    private static JsonObject File(string path) => new() { ["path"] = path, ["sha256"] = Sha256OrNull(path) };

    private static string? Sha256OrNull(string path) => System.IO.File.Exists(path) ? FileHash.Sha256(path) : null;
}
