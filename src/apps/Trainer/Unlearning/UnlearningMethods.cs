using Uld.Trainer.Unlearning.Methods;

namespace Uld.Trainer.Unlearning;

/// <summary>One method <c>uld-trainer unlearn --method</c> accepts.</summary>
/// <param name="Family">"uld" (an assistant served beside the base), "gradient" (the whole model) or "offset" (a small pair).</param>
/// <param name="Summary">What it does, in one line.</param>
/// <param name="Needs">The data it needs beyond the forget set: "retain", "refusals", both or nothing.</param>
public sealed record UnlearningMethod(string Name, string Family, string Summary, string Needs);

/// <summary>
/// Every unlearning method, built from <see cref="ForgetTerms.All"/> and the offset rows: the CLI's method list, its
/// validation and <c>uld-trainer methods</c> read it, so a new forget term appears everywhere once registered.
/// </summary>
public static class UnlearningMethods
{
    public const string Uld = "uld";

    public static readonly IReadOnlyList<UnlearningMethod> All =
    [
        new(Uld, "uld", "a LoRA assistant on the base's first K layers that remembers only the forget set; served as l_base − α·l_assistant", "retain"),
        .. ForgetTerms.All.SelectMany(t => t.RetainTerms.Select(r => new UnlearningMethod(
            r.Length == 0 ? t.Name : $"{t.Name}+{r}", "gradient", t.Summary + r switch { "gd" => ", + γ·CE on retain", "kl" => ", + γ·KL(p_ref ‖ p_θ) on retain", _ => "" },
            Needs(r.Length > 0 || t.ReadsRetain, t.NeedsRefusals)))),
        .. OffsetUnlearner.Methods.Select(m => new UnlearningMethod(m, "offset",
            $"δ-unlearning: a small model's copy unlearned with {OffsetUnlearner.GradientMethod(m)}'s terms through l_base + (l_unlearned − l_reference) (--small)",
            Needs(true, GradientUnlearner.NeedsRefusals(OffsetUnlearner.GradientMethod(m))))),
    ];

    public static UnlearningMethod? Find(string name) => All.FirstOrDefault(m => m.Name == name);

    private static string Needs(bool retain, bool refusals) => (retain, refusals) switch
    {
        (true, true) => "retain, refusals",
        (true, false) => "retain",
        (false, true) => "refusals",
        _ => "",
    };
}
