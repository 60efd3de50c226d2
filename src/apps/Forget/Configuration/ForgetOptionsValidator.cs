using Uld.Web;

namespace Uld.Forget.Configuration;

/// <summary>
/// Checks <see cref="ForgetOptions"/> as a whole at start-up, naming each problem by its configuration key: a service
/// that cannot train, gate or deploy a deployment's requests refuses to start rather than accept requests it would fail.
/// </summary>
public static class ForgetOptionsValidator
{
    /// <summary>Throws one exception whose message lists every problem (start-up prints it as one line).</summary>
    public static void ThrowIfInvalid(ForgetOptions options)
    {
        var errors = Problems(options).ToList();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
    }

    private static IEnumerable<string> Problems(ForgetOptions o)
    {
        const string f = ForgetOptions.Section;
        if (string.IsNullOrWhiteSpace(o.DataDirectory)) yield return $"{f}:DataDirectory is empty";
        if (o.AdminKeys.Count == 0) yield return $"{f}:AdminKeys is empty; configure at least one key (its sha256) for the API";
        for (var i = 0; i < o.AdminKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(o.AdminKeys[i].Name)) yield return $"{f}:AdminKeys:{i}:Name is empty";
            if (!KeyHash.IsSha256Hex(o.AdminKeys[i].Sha256)) yield return $"{f}:AdminKeys:{i}:Sha256 must be 64 hex digits (the hash of the key, never the key)";
        }
        if (o.AdminKeys.Select(k => k.Sha256.ToLowerInvariant()).Distinct().Count() != o.AdminKeys.Count) yield return $"{f}:AdminKeys: a hash is configured twice";
        if (o.MaxRequestBodyBytes <= 0) yield return $"{f}:MaxRequestBodyBytes must be positive";
        if (o.MaxDataFileBytes <= 0) yield return $"{f}:MaxDataFileBytes must be positive";
        if (o.CheckpointEvery <= 0) yield return $"{f}:CheckpointEvery must be positive";
        if (o.TrainingRetries < 0) yield return $"{f}:TrainingRetries must be 0 or more";
        if (o.AdminTimeout <= TimeSpan.Zero) yield return $"{f}:AdminTimeout must be positive";
        if (o.PollInterval <= TimeSpan.Zero) yield return $"{f}:PollInterval must be positive";
        for (var i = 0; i < o.AllowedDataRoots.Count; i++)
        {
            if (!Path.IsPathFullyQualified(o.AllowedDataRoots[i])) yield return $"{f}:AllowedDataRoots:{i} must be an absolute path";
        }
        foreach (var problem in Urls($"{f}:Replicas", o.Replicas)) yield return problem;
        if (o.RunWorker && string.IsNullOrEmpty(o.LogitServerAdminKey))
            yield return $"{f}:LogitServerAdminKey is empty; the worker needs LogitServer's admin key to stage and deploy (set Forget__LogitServerAdminKey)";
        if (o.Deployments.Count == 0) yield return $"{f}:Deployments is empty; name the serving deployments requests may change";
        foreach (var (name, d) in o.Deployments)
        {
            var at = $"{f}:Deployments:{name}";
            if (name.Contains("-staging-", StringComparison.Ordinal)) yield return $"{at}: '-staging-' is kept for the gate's staging deployments";
            if (string.IsNullOrWhiteSpace(d.TargetModel)) yield return $"{at}:TargetModel is empty; name the model directory (with training weights) assistants are trained against";
            else if (!Directory.Exists(d.TargetModel)) yield return $"{at}:TargetModel: {d.TargetModel} does not exist";
            if (string.IsNullOrWhiteSpace(d.HoldoutFile)) yield return $"{at}:HoldoutFile is empty; the gate needs text the model never saw";
            else if (!File.Exists(d.HoldoutFile)) yield return $"{at}:HoldoutFile: {d.HoldoutFile} does not exist";
            foreach (var (key, file) in new[] { ("RetainFile", d.RetainFile), ("RetainSampleFile", d.RetainSampleFile) })
            {
                if (file is not null && !File.Exists(file)) yield return $"{at}:{key}: {file} does not exist";
            }
            if (d.RetainFile is null && d.RetainSampleFile is null)
                yield return $"{at}: set RetainFile or RetainSampleFile; the gate measures retention on it when a request brings no retain data";
            if (!double.IsFinite(d.ForgetMargin) || d.ForgetMargin < 0) yield return $"{at}:ForgetMargin must be a finite number ≥ 0";
            if (!double.IsFinite(d.RetainRatio) || d.RetainRatio is < 0 or > 1) yield return $"{at}:RetainRatio must be between 0 and 1";
            if (d.GateMaxRecords <= 0) yield return $"{at}:GateMaxRecords must be positive";
            if (o.ReplicasOf(name).Count == 0) yield return $"{at}: no replicas (set {f}:Replicas or {at}:Replicas)";
            foreach (var problem in Urls($"{at}:Replicas", d.Replicas ?? [])) yield return problem;
        }
    }

    private static IEnumerable<string> Urls(string at, IReadOnlyList<string> urls)
    {
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")) yield return $"{at}: '{url}' is not an http(s) URL";
        }
        if (urls.Distinct(StringComparer.OrdinalIgnoreCase).Count() != urls.Count) yield return $"{at} lists a replica twice";
    }
}
