using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>One training step's batches, as a forget term sees them.</summary>
/// <param name="Logits">The trained model's outputs (and the frozen reference's) on any of the batches.</param>
/// <param name="Forget">The forget examples of the step.</param>
/// <param name="Refusals">The same questions answered with a refusal (terms with <see cref="ForgetTerm.NeedsRefusals"/>).</param>
/// <param name="Retain">A retain batch (when the method has a retain term, or the forget term reads retain data).</param>
public sealed record ForgetStep(StepLogits Logits, TrainingBatch Forget, TrainingBatch? Refusals, TrainingBatch? Retain, GradientOptions Options);

/// <summary>
/// The forget term of a gradient baseline (docs/METHODS.md, *Gradient-based baselines*): one subclass per term, listed
/// once in <see cref="ForgetTerms.All"/>, from which the method names ("npo", "npo+gd", "npo+kl"), the CLI's list and
/// help, validation and defaults all come. A term computed from the step's logits needs nothing else; a term acting on
/// hidden states or weights (<see cref="Rmu"/>, <see cref="TaskVector"/>) says so with <see cref="OnLogits"/>.
/// </summary>
public abstract class ForgetTerm
{
    /// <summary>The name before "+gd" / "+kl".</summary>
    public abstract string Name { get; }

    /// <summary>One line for the method list (<c>uld-trainer methods</c>).</summary>
    public abstract string Summary { get; }

    /// <summary>The retain terms this term is offered with: "" (alone), "gd" (γ·CE on retain), "kl" (γ·KL(p_ref ‖ p_θ) on retain).</summary>
    public virtual IReadOnlyList<string> RetainTerms { get; } = ["", "gd", "kl"];

    /// <summary>The term reads a refusal answer per forget question (<see cref="ForgetStep.Refusals"/>).</summary>
    public virtual bool NeedsRefusals => false;

    /// <summary>The term reads the retain batch itself, so its method needs retain data even without "+gd"/"+kl".</summary>
    public virtual bool ReadsRetain => false;

    /// <summary>False for terms on hidden states or weights: they cannot be taken through combined logits (offset unlearning).</summary>
    public virtual bool OnLogits => true;

    /// <summary>The defaults of this term's methods, from the ones every gradient method shares.</summary>
    public virtual GradientOptions Defaults(GradientOptions shared) => shared;

    /// <summary>The loss to minimise on one step (a scalar tensor).</summary>
    public abstract Tensor Loss(ForgetStep step);

    /// <summary>The method names this term is offered under, e.g. "npo", "npo+gd", "npo+kl".</summary>
    public IEnumerable<string> MethodNames => RetainTerms.Select(r => r.Length == 0 ? Name : $"{Name}+{r}");
}
