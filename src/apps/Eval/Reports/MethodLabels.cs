namespace Uld.Eval.Reports;

/// <summary>Display names of the methods the benchmarks run (the deployment prefix before '~').</summary>
public static class MethodLabels
{
    private static readonly Dictionary<string, string> Labels = new()
    {
        ["uld"] = "ULD", ["ga+gd"] = "GA+GD", ["ga+kl"] = "GA+KL", ["npo+gd"] = "NPO+GD", ["npo+kl"] = "NPO+KL", ["simnpo+gd"] = "SimNPO+GD",
        ["dpo+gd"] = "DPO+GD", ["idk+gd"] = "IDK+GD", ["rmu"] = "RMU", ["soul-npo+kl"] = "NPO+KL (SOUL)", ["offset-npo+kl"] = "δ-NPO+KL (offset)",
        ["offset-ga+kl"] = "δ-GA+KL (offset)", ["offset-dpo+kl"] = "δ-DPO+KL (offset)",
        // ULD's assistants served through the offset kind with the pre-fine-tuning model as prior (bench/books-prior.sh).
        ["uld-prior"] = "ULD + prior",
    };

    /// <summary>The display name, or the method's own name for one without a label.</summary>
    public static string Of(string method) => Labels.GetValueOrDefault(method, method);
}
