using Uld.Inference;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// One model directory served as it is — a target, a retain model, a gradient-unlearned checkpoint: its logits are
/// the distribution, no request control applies, and its card carries no policy.
/// </summary>
public sealed class PlainKind : DeploymentKind
{
    public override string Name => "Plain";
    public override string Label => "plain";

    public override IReadOnlyList<string> Settings { get; } = [nameof(DeploymentOptions.Model)];

    public override string? Problem(DeploymentOptions d, SettingPath at) => RequiredDirectory(at, nameof(DeploymentOptions.Model), d.Model);

    public override IReadOnlyList<ModelRole> Models(DeploymentOptions d) => [new("model", d.Model ?? "")];

    public override void Combine(DeploymentOptions served, DecoderStep baseStep, IReadOnlyList<DecoderStep> companions, int row, int position,
        SamplingParameters parameters, Span<float> logits) =>
        baseStep.Row(row, position).CopyTo(logits);
}
