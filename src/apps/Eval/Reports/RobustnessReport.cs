using System.Globalization;
using System.Text;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>
/// Seed 003's probes side by side: the same deployments (plain, int8, int4) asked the forget questions as written and
/// reworded. Knowledge that comes back shows as forget ROUGE-L / answer probability rising towards the target's.
/// </summary>
public static class RobustnessReport
{
    public static string Write(EvaluationRun asWritten, EvaluationRun reworded, string rewording)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Robustness probes ({asWritten.Split}, {asWritten.ForgetSet})").AppendLine();
        md.AppendLine("Written by `bench/robustness.sh`. Quantized models are the unlearned checkpoints (and, for ULD, both the base and the assistant) two ways: `-int8`/`-int4` rows carry per-row symmetric int8/int4 weights kept in float32 (`uld-trainer quantize`, the seed's probe); `-nbits8`/`-nbits4` rows are the served packages (`uld-trainer package --weights int8|int4`: block-32 ONNX Runtime MatMulNBits, what a deployment runs). The reworded run asks every question as");
        md.AppendLine(CultureInfo.InvariantCulture, $"`{rewording}`. FQ against the retain model; MU as in tofu-mini.md.").AppendLine();
        md.AppendLine("| deployment | forget R-L | forget R-L reworded | forget prob | FQ | FQ reworded | MU | retain R-L |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in asWritten.Results)
        {
            var w = reworded.Results.FirstOrDefault(x => x.Deployment == r.Deployment);
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Deployment} | {r.Forget.RougeL:F3} | {(w is null ? "—" : w.Forget.RougeL.ToString("F3", CultureInfo.InvariantCulture))} | {r.Forget.Probability:F3} | {Format.P(r.ForgetQuality)} | {Format.P(w?.ForgetQuality)} | {r.ModelUtility:F3} | {r.Retain.RougeL:F3} |"));
        }
        return md.ToString();
    }
}
