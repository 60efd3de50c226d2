using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// Offset unlearning (δ-unlearning, the seed's "Offset-*" baselines; docs/METHODS.md): a small model that shares the
/// base's vocabulary is copied as the reference, and the copy is unlearned with a gradient method whose frozen
/// reference is that same copy. The base is never trained; at decode time the server adds
/// β·(l_unlearned − l_reference) to its logits. The forget and retain terms are <see cref="GradientUnlearner"/>'s,
/// applied to the small model's own distribution.
/// </summary>
public static class OffsetUnlearner
{
    private const string Prefix = "offset-";

    /// <summary>The three offset rows of the seed's table: a gradient method with a KL-on-retain term each.</summary>
    public static readonly string[] Methods = ["offset-ga+kl", "offset-dpo+kl", "offset-npo+kl"];

    /// <summary>The gradient method that unlearns the small model, e.g. "npo+kl" for "offset-npo+kl".</summary>
    public static string GradientMethod(string method) =>
        Methods.Contains(method) ? method[Prefix.Length..] : throw new ArgumentException($"unknown offset method '{method}'; known: {string.Join(", ", Methods)}.");

    /// <summary>Unlearns <paramref name="unlearned"/> (a copy of the small model) against the frozen <paramref name="reference"/>.</summary>
    public static GradientUnlearner.Result Unlearn(string method, LlamaForCausalLM unlearned, LlamaForCausalLM reference, ForgetData forget,
        IReadOnlyList<ChatExample> retain, GradientOptions options, int padId, Action<int, int, double, double>? progress = null, CheckpointPlan? checkpoints = null) =>
        GradientUnlearner.Unlearn(GradientMethod(method), unlearned, reference, forget, retain, options, padId, progress, checkpoints);
}
