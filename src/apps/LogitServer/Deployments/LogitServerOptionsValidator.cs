using Microsoft.Extensions.Options;
using Uld.LogitServer.Deployments.Kinds;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// Checks <c>LogitServer</c> settings before anything is loaded, so a wrong value stops start-up with one line naming
/// its key instead of serving a deployment whose α floor or paths are not what the operator meant.
/// </summary>
public sealed class LogitServerOptionsValidator : IValidateOptions<LogitServerOptions>
{
    public ValidateOptionsResult Validate(string? name, LogitServerOptions options)
    {
        var failure = FirstProblem(options);
        return failure is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failure);
    }

    private static string? FirstProblem(LogitServerOptions o)
    {
        const string root = LogitServerOptions.Section;
        if (o.MaxBatchSize < 1) return $"{root}:MaxBatchSize must be at least 1; got {o.MaxBatchSize}.";
        if (o.MaxQueuedRequests < 1) return $"{root}:MaxQueuedRequests must be at least 1; got {o.MaxQueuedRequests}.";
        if (o.IntraOpThreads < 0) return $"{root}:IntraOpThreads must not be negative; got {o.IntraOpThreads}.";
        if (o.DefaultMaxTokens < 1) return $"{root}:DefaultMaxTokens must be at least 1; got {o.DefaultMaxTokens}.";
        if (o.ExecutionProvider.ToLowerInvariant() is not ("cpu" or "cuda")) return $"{root}:ExecutionProvider must be \"cpu\" or \"cuda\"; got \"{o.ExecutionProvider}\".";
        if (!o.AllowsInPlaceKvCache && !string.Equals(o.KvCache, LogitServerOptions.ConcatKvCache, StringComparison.OrdinalIgnoreCase))
            return $"{root}:KvCache must be \"{LogitServerOptions.InPlaceKvCache}\" or \"{LogitServerOptions.ConcatKvCache}\"; got \"{o.KvCache}\".";
        if (!(o.PrefillTimeShare >= 0) || double.IsInfinity(o.PrefillTimeShare)) return $"{root}:PrefillTimeShare must be a finite number ≥ 0 (0 runs prompts whole); got {o.PrefillTimeShare}.";
        if (o.MinPrefillChunkTokens < 1) return $"{root}:MinPrefillChunkTokens must be at least 1; got {o.MinPrefillChunkTokens}.";
        if (o.KvCacheMaxLength < 1) return $"{root}:KvCacheMaxLength must be at least 1; got {o.KvCacheMaxLength}.";
        if (o.AdminKeySha256 is not null && !Uld.Web.KeyHash.IsSha256Hex(o.AdminKeySha256))
            return $"{root}:AdminKeySha256 must be 64 hex digits (the sha256 of the admin key, never the key).";
        if (o.RuntimeDeploymentsFile is { } file && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(file))))
            return $"{root}:RuntimeDeploymentsFile {file}: its directory does not exist.";
        // With the admin API a replica may start empty and be given its deployments at run time.
        if (o.Deployments.Count == 0 && !o.AdminApiEnabled) return $"no deployments are configured ({root}:Deployments is empty).";

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < o.Deployments.Count; i++)
        {
            var problem = Problem(o.Deployments[i], $"{root}:Deployments:{i}", names);
            if (problem is not null) return problem;
        }
        return null;
    }

    /// <summary>
    /// What is wrong with one deployment's settings, in the words start-up would use (null when nothing is): the admin
    /// API holds a deployment it loads at run time to exactly the checks a configured one passes.
    /// </summary>
    public static string? DeploymentProblem(DeploymentOptions d) =>
        Problem(d, $"{LogitServerOptions.Section}:Deployments[{d.Name}]", new HashSet<string>(StringComparer.Ordinal));

    private static string? Problem(DeploymentOptions d, string key, HashSet<string> names)
    {
        if (string.IsNullOrWhiteSpace(d.Name)) return $"{key}:Name is required.";
        if (!names.Add(d.Name)) return $"{key}:Name: deployment name '{d.Name}' is used twice.";
        var where = $"(deployment '{d.Name}')";
        if (DeploymentKinds.Of(d) is not { } kind)
            return $"{key}:Kind {where} must be one of {string.Join(", ", DeploymentKinds.Names)}; got \"{d.Kind}\".";
        if (UnusedSetting(d, kind) is { } unused) return $"{key}:{unused} is not used by {kind.Name} deployments {where}; remove it.";
        if (d.ExecutionProvider is { } provider && provider.ToLowerInvariant() is not ("cpu" or "cuda"))
            return $"{key}:ExecutionProvider {where} must be \"cpu\" or \"cuda\"; got \"{provider}\".";
        if (d.DeviceId < 0) return $"{key}:DeviceId {where} must not be negative; got {d.DeviceId}.";
        return kind.Problem(d, new SettingPath(key, where));
    }

    /// <summary>
    /// The first optional setting of another kind that <paramref name="d"/> sets (a blank string counts as unset). A
    /// setting with a default value (AlphaMin, BetaMax, …) cannot be told set from unset, so it is never refused.
    /// </summary>
    private static string? UnusedSetting(DeploymentOptions d, DeploymentKind kind) =>
        DeploymentKinds.KindSettings.Except(kind.Settings).FirstOrDefault(setting =>
        {
            var property = typeof(DeploymentOptions).GetProperty(setting)!;
            var optional = !property.PropertyType.IsValueType || Nullable.GetUnderlyingType(property.PropertyType) is not null;
            return optional && property.GetValue(d) is { } value && !(value is string text && string.IsNullOrWhiteSpace(text));
        });
}
