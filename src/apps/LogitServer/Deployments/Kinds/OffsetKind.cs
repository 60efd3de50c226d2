using Uld.Contracts.OpenAi;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// Offset unlearning (δ-unlearning): a base plus a small reference model and that model after unlearning, all three run
/// every step with their own KV caches, served as l_base + β·(l_unlearned − l_reference) with β per request inside the
/// deployment's bounds (docs/DESIGN.md, *The offset decode rule*).
/// </summary>
public sealed class OffsetKind : DeploymentKind
{
    public override string Name => "Offset";
    public override string Label => "offset";

    public override IReadOnlyList<string> Settings { get; } =
    [
        nameof(DeploymentOptions.Base), nameof(DeploymentOptions.Reference), nameof(DeploymentOptions.Unlearned),
        nameof(DeploymentOptions.BetaDefault), nameof(DeploymentOptions.BetaMin), nameof(DeploymentOptions.BetaMax),
    ];

    public override string? Problem(DeploymentOptions d, SettingPath at) =>
        RequiredDirectory(at, nameof(DeploymentOptions.Base), d.Base)
        ?? RequiredDirectory(at, nameof(DeploymentOptions.Reference), d.Reference)
        ?? RequiredDirectory(at, nameof(DeploymentOptions.Unlearned), d.Unlearned)
        ?? NonNegative(at, ("BetaMin", d.BetaMin), ("BetaDefault", d.BetaDefault), ("BetaMax", d.BetaMax))
        ?? NotAbove(at, ("BetaMin", d.BetaMin, "BetaDefault", d.BetaDefault), ("BetaDefault", d.BetaDefault, "BetaMax", d.BetaMax));

    /// <summary>The base, then the unlearned and reference models: the companions in the order <see cref="Combine"/> reads them.</summary>
    public override IReadOnlyList<ModelRole> Models(DeploymentOptions d) =>
        [new("base", d.Base ?? ""), new("unlearned", d.Unlearned ?? ""), new("reference", d.Reference ?? "")];

    public override IReadOnlyList<string> ControlFields { get; } = [RequestControls.OffsetBeta];

    /// <summary>The request's β, or the default; outside [BetaMin, BetaMax] is a 400 naming the field.</summary>
    protected override RuleControls Resolve(DeploymentOptions served, CompletionRequestBase request)
    {
        var b = request.UldOffsetBeta ?? served.BetaDefault;
        if (!double.IsFinite(b) || b < served.BetaMin || b > served.BetaMax)
            throw OpenAiException.InvalidRequest($"uld_offset_beta must be between {served.BetaMin} and {served.BetaMax} for '{served.Name}'; got {b}.", RequestControls.OffsetBeta);
        return new RuleControls(0, 0, b);
    }

    public override ReportedControls Report(SamplingParameters parameters) => new(null, null, parameters.OffsetBeta);

    public override void Combine(DeploymentOptions served, DecoderStep baseStep, IReadOnlyList<DecoderStep> companions, int row, int position,
        SamplingParameters parameters, Span<float> logits) =>
        OffsetLogits.CombineLogits(baseStep.Row(row, position), companions[0].Row(row, position), companions[1].Row(row, position), parameters.OffsetBeta, logits);

    public override ModelCard Publish(DeploymentOptions served, ModelCard card) =>
        card with { Offset = new OffsetPolicyCard(served.BetaDefault, served.BetaMin, served.BetaMax) };
}
