using ScottPlot;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>The forget/utility frontier: how a ULD deployment's forget and utility scores move as α varies.</summary>
public static class AlphaPlot
{
    /// <summary>One metric over α; curves of one <paramref name="Series"/> share a colour, a utility curve is dashed.</summary>
    public sealed record Curve(string Label, int Series, IReadOnlyList<(double Alpha, double Value)> Points, bool Dashed);

    /// <summary>A horizontal reference: a bar to reach or a reference model's score.</summary>
    public sealed record Level(string Label, double Value, bool Dashed);

    /// <summary>TOFU: forget quality and model utility relative to the target, one colour per forget set.</summary>
    public static void Save(IReadOnlyList<(string ForgetSet, IReadOnlyList<DeploymentResult> Sweep, DeploymentResult Target)> series, string path)
    {
        var curves = series.SelectMany((s, i) => new[]
        {
            new Curve($"{s.ForgetSet}: forget quality", i, s.Sweep.Select(r => (r.Alpha ?? 0, r.ForgetQuality ?? 0)).ToList(), Dashed: false),
            // MU relative to the target's, so that the 0.95 bar is one line for every forget set.
            new Curve($"{s.ForgetSet}: MU / target MU", i, s.Sweep.Select(r => (r.Alpha ?? 0, r.ModelUtility / s.Target.ModelUtility)).ToList(), Dashed: true),
        }).ToList();
        Save("ULD on TOFU-mini: forget quality and utility vs α (one assistant, α per request)", "forget quality (KS p) / relative model utility",
            curves, [new("FQ target 0.5", 0.5, Dashed: false), new("MU target 0.95×", 0.95, Dashed: true)], path);
    }

    /// <param name="legend">where the legend covers no curve: TOFU's forget quality rises with α, VerbMem falls</param>
    public static void Save(string title, string yLabel, IReadOnlyList<Curve> curves, IReadOnlyList<Level> levels, string path, Alignment legend = Alignment.LowerRight)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var curve in curves)
        {
            var scatter = plot.Add.Scatter(curve.Points.Select(p => p.Alpha).ToArray(), curve.Points.Select(p => p.Value).ToArray(), palette.GetColor(curve.Series));
            scatter.LegendText = curve.Label;
            if (curve.Dashed) (scatter.LinePattern, scatter.MarkerShape) = (LinePattern.Dashed, MarkerShape.OpenSquare);
            else scatter.MarkerSize = 7;
        }
        foreach (var level in levels)
            plot.Add.HorizontalLine(level.Value, 1, level.Dashed ? Colors.DarkGray : Colors.Gray, level.Dashed ? LinePattern.Dashed : LinePattern.Dotted).LegendText = level.Label;
        plot.Title(title);
        plot.XLabel("α");
        plot.YLabel(yLabel);
        // Scores and ratios live in [0, 1]; a ratio above it widens the axis rather than leaving the plot.
        plot.Axes.SetLimitsY(0, Math.Max(1.1, curves.SelectMany(c => c.Points).Select(p => p.Value).Where(double.IsFinite).DefaultIfEmpty(0).Max() * 1.05));
        plot.ShowLegend(legend);
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 900, 560);
        File.Move(temp, path, overwrite: true);
    }
}
