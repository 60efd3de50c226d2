using Microsoft.Extensions.Options;

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
        string? Directory(string field, string? path, bool wanted) => (wanted, string.IsNullOrWhiteSpace(path)) switch
        {
            (true, true) => $"{key}:{field} is required for {d.Kind} deployments {where}.",
            (false, false) => $"{key}:{field} is not used by {d.Kind} deployments {where}; remove it.",
            (true, false) when !System.IO.Directory.Exists(path) => $"{key}:{field} {where}: model directory {path} does not exist.",
            _ => null,
        };
        var (uld, offset) = (d.Kind == DeploymentKind.Uld, d.Kind == DeploymentKind.Offset);
        if (d.Assistants is not null && !uld) return $"{key}:Assistants is not used by {d.Kind} deployments {where}; remove it.";
        if (d.Assistants is not null && !string.IsNullOrWhiteSpace(d.Assistant))
            return $"{key}:Assistant and {key}:Assistants {where} are both set; a ULD deployment has one Assistant or a list of Assistants.";
        if (uld && d.Assistants is null && string.IsNullOrWhiteSpace(d.Assistant) && Directory("Base", d.Base, wanted: true) is null)
            return $"{key}:Assistant is required for Uld deployments {where} (or Assistants, a list of them).";
        var paths = Directory("Model", d.Model, d.Kind == DeploymentKind.Plain) ?? Directory("Base", d.Base, uld || offset)
            ?? (d.Assistants is null ? Directory("Assistant", d.Assistant, uld) : AssistantsProblem(d, key, where))
            ?? Directory("Reference", d.Reference, offset) ?? Directory("Unlearned", d.Unlearned, offset);
        if (paths is not null) return paths;
        if (d.ExecutionProvider is { } provider && provider.ToLowerInvariant() is not ("cpu" or "cuda"))
            return $"{key}:ExecutionProvider {where} must be \"cpu\" or \"cuda\"; got \"{provider}\".";
        if (d.DeviceId < 0) return $"{key}:DeviceId {where} must not be negative; got {d.DeviceId}.";
        if (!uld && d.Fused is not null) return $"{key}:Fused is not used by {d.Kind} deployments {where}; remove it.";
        if (!uld && d.Rule is not null) return $"{key}:Rule is not used by {d.Kind} deployments {where}; remove it.";
        if (d.Rule is { } rule && !Enum.IsDefined(rule)) return $"{key}:Rule {where} must be Difference or SuppressOnly; got {(int)rule}.";
        if (offset) return BetaProblem(d, key, where);
        if (!uld) return null;
        if (d.Fused is { } fusedPath && !File.Exists(fusedPath)) return $"{key}:Fused {where}: fused graph {fusedPath} does not exist.";
        if (d.Fused is not null && d.Assistants is not null)
            return $"{key}:Fused {where}: a fused graph holds one assistant; it cannot serve Assistants (use Assistant, or drop Fused).";

        foreach (var (field, value) in new[]
                 {
                     ("AlphaMin", d.AlphaMin), ("AlphaDefault", d.AlphaDefault ?? d.AlphaMin), ("AlphaMax", d.AlphaMax),
                     ("RelativeTopMin", d.RelativeTopMin), ("RelativeTopDefault", d.RelativeTopDefault), ("RelativeTopMax", d.RelativeTopMax),
                 })
        {
            if (!double.IsFinite(value) || value < 0) return $"{key}:{field} {where} must be a finite number ≥ 0; got {value}.";
        }
        if (d.AlphaMin > d.AlphaMax) return $"{key}:AlphaMin {where} must not exceed AlphaMax ({d.AlphaMin} > {d.AlphaMax}).";
        if (d.AlphaMin > d.AlphaDefault) return $"{key}:AlphaMin {where} must not exceed AlphaDefault ({d.AlphaMin} > {d.AlphaDefault}).";
        if (d.AlphaDefault > d.AlphaMax) return $"{key}:AlphaDefault {where} must not exceed AlphaMax ({d.AlphaDefault} > {d.AlphaMax}).";
        if (d.RelativeTopMax > 1) return $"{key}:RelativeTopMax {where} must be at most 1; got {d.RelativeTopMax}.";
        if (d.RelativeTopMin > d.RelativeTopDefault) return $"{key}:RelativeTopMin {where} must not exceed RelativeTopDefault ({d.RelativeTopMin} > {d.RelativeTopDefault}).";
        if (d.RelativeTopDefault > d.RelativeTopMax) return $"{key}:RelativeTopDefault {where} must not exceed RelativeTopMax ({d.RelativeTopDefault} > {d.RelativeTopMax}).";
        return null;
    }

    /// <summary>A ULD deployment's list of assistants: at least one, each an existing directory with a finite positive weight.</summary>
    private static string? AssistantsProblem(DeploymentOptions d, string key, string where)
    {
        if (d.Assistants!.Count == 0) return $"{key}:Assistants {where} is empty; list at least one assistant (or set Assistant).";
        for (var i = 0; i < d.Assistants.Count; i++)
        {
            var (path, weight) = (d.Assistants[i].Path, d.Assistants[i].Alpha);
            if (string.IsNullOrWhiteSpace(path)) return $"{key}:Assistants:{i}:Path is required {where}.";
            if (!System.IO.Directory.Exists(path)) return $"{key}:Assistants:{i}:Path {where}: model directory {path} does not exist.";
            if (!double.IsFinite(weight) || weight <= 0) return $"{key}:Assistants:{i}:Alpha {where} must be a finite number > 0; got {weight}.";
        }
        return null;
    }

    private static string? BetaProblem(DeploymentOptions d, string key, string where)
    {
        foreach (var (field, value) in new[] { ("BetaMin", d.BetaMin), ("BetaDefault", d.BetaDefault), ("BetaMax", d.BetaMax) })
        {
            if (!double.IsFinite(value) || value < 0) return $"{key}:{field} {where} must be a finite number ≥ 0; got {value}.";
        }
        if (d.BetaMin > d.BetaDefault) return $"{key}:BetaMin {where} must not exceed BetaDefault ({d.BetaMin} > {d.BetaDefault}).";
        if (d.BetaDefault > d.BetaMax) return $"{key}:BetaDefault {where} must not exceed BetaMax ({d.BetaDefault} > {d.BetaMax}).";
        return null;
    }
}
