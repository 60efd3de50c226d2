using System.Buffers;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// ULD in sessions of its own: the base and one <c>Assistant</c> (or several weighted <c>Assistants</c>) each run every
/// step with their own KV cache, side by side, and the step's distribution is the ULD rule of their logits —
/// l_base − α·l_assistant, or α times the weighted sum of the assistants' penalties (docs/DESIGN.md, *The ULD decode rule*).
/// </summary>
public sealed class UldKind : UldPolicyKind
{
    /// <summary>The ULD entries without a <c>Fused</c> graph.</summary>
    public override bool Selects(DeploymentOptions d) => string.IsNullOrWhiteSpace(d.Fused);

    public override IReadOnlyList<string> Settings { get; } = PolicySettings;

    /// <summary>The base, then the assistants in the order configured.</summary>
    public override IReadOnlyList<ModelRole> Models(DeploymentOptions d) =>
    [
        new("base", d.Base ?? ""),
        .. d.Assistants is { } list ? list.Select((a, i) => new ModelRole(AssistantRole(i), a.Path)) : [new ModelRole(AssistantRole(0), d.Assistant ?? "")],
    ];

    /// <summary>
    /// One assistant at weight 1 takes the direct two-model rule; several, or one at another weight, have their
    /// penalties weighted and summed before α scales them.
    /// </summary>
    public override void Combine(DeploymentOptions served, DecoderStep baseStep, IReadOnlyList<DecoderStep> companions, int row, int position,
        SamplingParameters parameters, Span<float> logits)
    {
        var rule = served.DecodeRule;
        if (served.Assistants is not { } assistants || assistants is [var only] && (float)only.Alpha == 1)
        {
            UldLogits.CombineLogits(baseStep.Row(row, position), companions[0].Row(row, position), parameters.Alpha, parameters.RelativeTop, logits, rule);
            return;
        }
        // Σᵢ wᵢ·penaltyᵢ of this row at this position: one vocabulary-sized buffer, pooled, as the step runs on the scheduler's thread.
        var rented = ArrayPool<float>.Shared.Rent(logits.Length);
        try
        {
            var penalty = rented.AsSpan(0, logits.Length);
            penalty.Clear();
            for (var i = 0; i < companions.Count; i++) UldLogits.AddPenalty(companions[i].Row(row, position), (float)assistants[i].Alpha, rule, penalty);
            UldLogits.CombinePenalizedLogits(baseStep.Row(row, position), penalty, parameters.Alpha, parameters.RelativeTop, logits, rule);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }
}
