using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Inference.Sampling;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// What the two ULD kinds (<see cref="UldKind"/>, two sessions or more; <see cref="FusedUldKind"/>, one fused graph)
/// share: a base and its assistant(s), the decode <c>Rule</c>, and the α and relative-top policy — its settings and
/// checks, the α default (configured, calibrated or the fallback), the <c>uld_alpha</c> and <c>uld_relative_top</c>
/// controls and the <c>uld</c> card on <c>/v1/models</c> (docs/DESIGN.md, *The ULD decode rule*).
/// </summary>
public abstract class UldPolicyKind : DeploymentKind
{
    public override string Name => "Uld";
    public override string Label => "ULD";

    /// <summary>The settings of every ULD deployment; each kind adds its own.</summary>
    protected static IReadOnlyList<string> PolicySettings { get; } =
    [
        nameof(DeploymentOptions.Base), nameof(DeploymentOptions.Assistant), nameof(DeploymentOptions.Assistants), nameof(DeploymentOptions.Rule),
        nameof(DeploymentOptions.AlphaDefault), nameof(DeploymentOptions.AlphaMin), nameof(DeploymentOptions.AlphaMax),
        nameof(DeploymentOptions.RelativeTopDefault), nameof(DeploymentOptions.RelativeTopMin), nameof(DeploymentOptions.RelativeTopMax),
    ];

    public override string? Problem(DeploymentOptions d, SettingPath at) =>
        ModelsProblem(d, at) ?? RuleProblem(d, at) ?? OwnProblem(d, at) ?? PolicyProblem(d, at);

    /// <summary>What only this ULD kind checks, after the models and the rule and before the α policy.</summary>
    protected virtual string? OwnProblem(DeploymentOptions d, SettingPath at) => null;

    /// <summary>The base, then one <c>Assistant</c> or a list of <c>Assistants</c> (exactly one of the two).</summary>
    private string? ModelsProblem(DeploymentOptions d, SettingPath at)
    {
        var (key, where) = (at.Key, at.Where);
        if (d.Assistants is not null && !string.IsNullOrWhiteSpace(d.Assistant))
            return $"{key}:Assistant and {key}:Assistants {where} are both set; a ULD deployment has one Assistant or a list of Assistants.";
        if (RequiredDirectory(at, nameof(DeploymentOptions.Base), d.Base) is { } baseProblem) return baseProblem;
        if (d.Assistants is null && string.IsNullOrWhiteSpace(d.Assistant))
            return $"{key}:Assistant is required for {Name} deployments {where} (or Assistants, a list of them).";
        return d.Assistants is null ? RequiredDirectory(at, nameof(DeploymentOptions.Assistant), d.Assistant) : AssistantsProblem(d.Assistants, at);
    }

    /// <summary>A ULD deployment's list of assistants: at least one, each an existing directory with a finite positive weight.</summary>
    private static string? AssistantsProblem(List<AssistantOptions> assistants, SettingPath at)
    {
        var (key, where) = (at.Key, at.Where);
        if (assistants.Count == 0) return $"{key}:Assistants {where} is empty; list at least one assistant (or set Assistant).";
        for (var i = 0; i < assistants.Count; i++)
        {
            var (path, weight) = (assistants[i].Path, assistants[i].Alpha);
            if (string.IsNullOrWhiteSpace(path)) return $"{key}:Assistants:{i}:Path is required {where}.";
            if (!Directory.Exists(path)) return $"{key}:Assistants:{i}:Path {where}: model directory {path} does not exist.";
            if (!double.IsFinite(weight) || weight <= 0) return $"{key}:Assistants:{i}:Alpha {where} must be a finite number > 0; got {weight}.";
        }
        return null;
    }

    private static string? RuleProblem(DeploymentOptions d, SettingPath at) =>
        d.Rule is { } rule && !Enum.IsDefined(rule) ? $"{at.Key}:Rule {at.Where} must be Difference or SuppressOnly; got {(int)rule}." : null;

    private static string? PolicyProblem(DeploymentOptions d, SettingPath at)
    {
        var relativeTopMax = d.RelativeTopMax > 1 ? $"{at.Key}:RelativeTopMax {at.Where} must be at most 1; got {d.RelativeTopMax}." : null;
        return NonNegative(at,
                   ("AlphaMin", d.AlphaMin), ("AlphaDefault", d.AlphaDefault ?? d.AlphaMin), ("AlphaMax", d.AlphaMax),
                   ("RelativeTopMin", d.RelativeTopMin), ("RelativeTopDefault", d.RelativeTopDefault), ("RelativeTopMax", d.RelativeTopMax))
               ?? NotAbove(at, ("AlphaMin", d.AlphaMin, "AlphaMax", d.AlphaMax), ("AlphaMin", d.AlphaMin, "AlphaDefault", d.AlphaDefault),
                   ("AlphaDefault", d.AlphaDefault, "AlphaMax", d.AlphaMax))
               ?? relativeTopMax
               ?? NotAbove(at, ("RelativeTopMin", d.RelativeTopMin, "RelativeTopDefault", d.RelativeTopDefault),
                   ("RelativeTopDefault", d.RelativeTopDefault, "RelativeTopMax", d.RelativeTopMax));
    }

    /// <summary>The model_sha256 role of the i-th assistant: "assistant", then "assistant.1", "assistant.2", ….</summary>
    public static string AssistantRole(int index) => index == 0 ? "assistant" : $"assistant.{index}";

    /// <summary>Served with the α default resolved: <see cref="AlphaDefaultOf"/>.</summary>
    public override DeploymentOptions Serve(DeploymentOptions configured, IReadOnlyList<OpenedModel> models)
    {
        var served = configured.Copy();
        served.AlphaDefault = AlphaDefaultOf(configured, models.Skip(1).Select(m => m.Directory).ToList());
        return served;
    }

    /// <summary>
    /// The configured α, or the one the assistants were calibrated to (for this rule and relative-top default), or
    /// <see cref="DeploymentOptions.FallbackAlpha"/>; outside [AlphaMin, AlphaMax] it is a configuration error. Several
    /// assistants have a calibrated α only when every one of them carries the same one: each was calibrated alone, and
    /// what their weighted sum needs is not known without calibrating the sum (docs/DESIGN.md, *The ULD decode rule*).
    /// </summary>
    private static double AlphaDefaultOf(DeploymentOptions d, IReadOnlyList<ModelDirectory> assistants)
    {
        var each = assistants.Select(a => CalibratedAlpha(d, a)).Distinct().ToList();
        var calibrated = each.Count == 1 ? each[0] : null;
        var alpha = d.AlphaDefault ?? calibrated ?? DeploymentOptions.FallbackAlpha;
        if (alpha < d.AlphaMin || alpha > d.AlphaMax)
        {
            var source = d.AlphaDefault is not null ? "AlphaDefault"
                : calibrated is not null ? $"the {(assistants.Count > 1 ? "assistants'" : "assistant's")} calibrated α {alpha}" : $"the fallback α {alpha}";
            throw new DeploymentConfigurationException(
                $"deployment '{d.Name}': {source} is outside [AlphaMin {d.AlphaMin}, AlphaMax {d.AlphaMax}]; set AlphaDefault or widen the bounds.");
        }
        return alpha;
    }

    /// <summary>The α an assistant's manifest recommends for this deployment's rule and relative-top default, if any.</summary>
    private static double? CalibratedAlpha(DeploymentOptions d, ModelDirectory assistant)
    {
        var calibration = assistant.Manifest.Metrics?["calibration"];
        return calibration?["recommended_alpha"]?.GetValue<double>() is { } a
            && string.Equals(calibration["rule"]?.GetValue<string>(), d.DecodeRule.ToString(), StringComparison.OrdinalIgnoreCase)
            && calibration["relative_top"]?.GetValue<double>() == d.RelativeTopDefault ? a : null;
    }

    public override IReadOnlyList<string> ControlFields { get; } = [RequestControls.Alpha, RequestControls.RelativeTop];

    /// <summary>The request's α and r, or the defaults; outside the policy is a 400 naming the field.</summary>
    protected override RuleControls Resolve(DeploymentOptions served, CompletionRequestBase request)
    {
        var a = request.UldAlpha ?? served.AlphaDefault ?? DeploymentOptions.FallbackAlpha;
        if (!double.IsFinite(a) || a < served.AlphaMin || a > served.AlphaMax)
            throw OpenAiException.InvalidRequest($"uld_alpha must be between {served.AlphaMin} and {served.AlphaMax} for '{served.Name}'; got {a}.", RequestControls.Alpha);
        var r = request.UldRelativeTop ?? served.RelativeTopDefault;
        if (!double.IsFinite(r) || r < served.RelativeTopMin || r > served.RelativeTopMax)
        {
            throw OpenAiException.InvalidRequest($"uld_relative_top must be between {served.RelativeTopMin} and {served.RelativeTopMax} for '{served.Name}'; got {r}.",
                RequestControls.RelativeTop);
        }
        return new RuleControls(a, r, 0);
    }

    public override ReportedControls Report(SamplingParameters parameters) => new(parameters.Alpha, parameters.RelativeTop, null);

    public override ModelCard Publish(DeploymentOptions served, ModelCard card) => card with
    {
        Uld = new UldPolicyCard(served.AlphaDefault ?? DeploymentOptions.FallbackAlpha, served.AlphaMin, served.AlphaMax,
            served.RelativeTopDefault, served.RelativeTopMin, served.RelativeTopMax, RuleName(served.DecodeRule)),
    };

    /// <summary>The rule's wire name: snake_case of <see cref="UldRule"/>.</summary>
    public static string RuleName(UldRule rule) => rule switch
    {
        UldRule.Difference => "difference",
        UldRule.SuppressOnly => "suppress_only",
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };
}
