using ScottPlot;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>The forget/utility frontier: forget quality and model utility of one ULD deployment as α varies.</summary>
public static class AlphaPlot
{
    public static void Save(IReadOnlyList<(string ForgetSet, IReadOnlyList<DeploymentResult> Sweep, DeploymentResult Target)> series, string path)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < series.Count; i++)
        {
            var (forgetSet, sweep, target) = series[i];
            var alphas = sweep.Select(r => r.Alpha ?? 0).ToArray();
            var color = palette.GetColor(i);
            var fq = plot.Add.Scatter(alphas, sweep.Select(r => r.ForgetQuality ?? 0).ToArray(), color);
            fq.LegendText = $"{forgetSet}: forget quality";
            fq.MarkerSize = 7;
            // MU relative to the target's, so that the 0.95 bar is one line for every forget set.
            var mu = plot.Add.Scatter(alphas, sweep.Select(r => r.ModelUtility / target.ModelUtility).ToArray(), color);
            mu.LegendText = $"{forgetSet}: MU / target MU";
            mu.LinePattern = LinePattern.Dashed;
            mu.MarkerShape = MarkerShape.OpenSquare;
        }
        plot.Add.HorizontalLine(0.5, 1, Colors.Gray, LinePattern.Dotted).LegendText = "FQ target 0.5";
        plot.Add.HorizontalLine(0.95, 1, Colors.DarkGray, LinePattern.Dashed).LegendText = "MU target 0.95×";
        plot.Title("ULD on TOFU-mini: forget quality and utility vs α (one assistant, α per request)");
        plot.XLabel("α");
        plot.YLabel("forget quality (KS p) / relative model utility");
        plot.Axes.SetLimitsY(0, 1.1);
        plot.ShowLegend(Alignment.LowerRight);
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 900, 560);
        File.Move(temp, path, overwrite: true);
    }
}
