using System.Globalization;
using System.Text;
using ScottPlot;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>An A/B experiment's variants measured on the same prompts: metrics side by side, example answers, a bar chart.</summary>
public static class AbReport
{
    public static string Write(string experiment, EvaluationRun run, IReadOnlyDictionary<string, string> variantOfDeployment, string plotPath)
    {
        var variants = run.Results.Where(r => variantOfDeployment.ContainsKey(r.Deployment)).ToList();
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# A/B report: experiment `{experiment}` ({run.ForgetSet})").AppendLine();
        md.AppendLine("Every variant answered the same questions through the gateway (one sticky user per variant); forget quality is measured against the retain model served beside them.").AppendLine();
        md.AppendLine("| metric | " + string.Join(" | ", variants.Select(v => variantOfDeployment[v.Deployment])) + " |");
        md.AppendLine("|---|" + string.Concat(variants.Select(_ => "---|")));
        void Row(string name, Func<DeploymentResult, string> value) => md.AppendLine($"| {name} | " + string.Join(" | ", variants.Select(value)) + " |");
        Row("forget quality (KS p)", v => Format.P(v.ForgetQuality));
        Row("model utility", v => v.ModelUtility.ToString("F3", CultureInfo.InvariantCulture));
        Row("forget ROUGE-L recall", v => v.Forget.RougeL.ToString("F3", CultureInfo.InvariantCulture));
        Row("retain ROUGE-L recall", v => v.Retain.RougeL.ToString("F3", CultureInfo.InvariantCulture));
        Row("forget answer probability", v => v.Forget.Probability.ToString("F3", CultureInfo.InvariantCulture));
        Row("retain answer probability", v => v.Retain.Probability.ToString("F3", CultureInfo.InvariantCulture));
        Row("VerbMem (forget)", v => v.VerbMem.ToString("F3", CultureInfo.InvariantCulture));
        Row("PrivLeak (%)", v => Format.PrivLeak(v.PrivLeak));
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![metrics by variant]({Path.GetFileName(plotPath)})").AppendLine();

        foreach (var (title, pick) in new (string, Func<DeploymentResult, IReadOnlyList<ExampleAnswer>>)[] { ("Forget questions", v => v.ForgetExamples), ("Retain questions", v => v.RetainExamples) })
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## {title}").AppendLine();
            var first = pick(variants[0]);
            for (var i = 0; i < first.Count; i++)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"**Q:** {first[i].Question}  ").AppendLine(CultureInfo.InvariantCulture, $"**reference:** {first[i].Reference}  ");
                foreach (var v in variants) md.AppendLine(CultureInfo.InvariantCulture, $"**{variantOfDeployment[v.Deployment]}** (ROUGE-L {pick(v)[i].RougeL:F2}): {pick(v)[i].Generated.ReplaceLineEndings(" ")}  ");
                md.AppendLine();
            }
        }
        SavePlot(variants.Select(v => (variantOfDeployment[v.Deployment], v)).ToList(), plotPath);
        return md.ToString();
    }

    private static void SavePlot(IReadOnlyList<(string Variant, DeploymentResult Result)> variants, string path)
    {
        var plot = new Plot();
        string[] metrics = ["forget quality", "model utility", "forget ROUGE-L", "retain ROUGE-L"];
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        for (var v = 0; v < variants.Count; v++)
        {
            var r = variants[v].Result;
            double[] values = [r.ForgetQuality ?? 0, r.ModelUtility, r.Forget.RougeL, r.Retain.RougeL];
            for (var m = 0; m < metrics.Length; m++)
                bars.Add(new Bar { Position = m * (variants.Count + 1) + v, Value = values[m], FillColor = palette.GetColor(v) });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(metrics.Select((_, m) => m * (variants.Count + 1) + (variants.Count - 1) / 2.0).ToArray(), metrics);
        for (var v = 0; v < variants.Count; v++) plot.Legend.ManualItems.Add(new LegendItem { LabelText = variants[v].Variant, FillColor = palette.GetColor(v) });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.SetLimitsY(0, 1.1);
        plot.Title("A/B variants on the same prompts");
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 800, 450);
        File.Move(temp, path, overwrite: true);
    }
}
