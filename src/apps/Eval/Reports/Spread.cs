namespace Uld.Eval.Reports;

/// <summary>Mean and sample standard deviation (0 for one value) of a metric over seeds.</summary>
public readonly record struct Spread(double Mean, double Sd, int N)
{
    public static Spread Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return new(double.NaN, double.NaN, 0);
        var mean = values.Average();
        return new(mean, values.Count < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)), values.Count);
    }

    /// <summary>The spread of the finite values <paramref name="metric"/> gives (a metric that was not measured is left out, not counted as 0).</summary>
    public static Spread Of<T>(IEnumerable<T> items, Func<T, double?> metric) =>
        Of(items.Select(metric).Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).ToList());

    /// <summary>Ahead of <paramref name="other"/> by more than both spreads (mean − sd above the other's mean + sd).</summary>
    public bool Beats(Spread other) => N > 0 && other.N > 0 && Mean - Sd > other.Mean + other.Sd;

    /// <param name="sdFormat">for the sd when it differs from the mean's (a signed mean, an unsigned sd)</param>
    public string Show(Func<double, string> format, Func<double, string>? sdFormat = null) =>
        N == 0 ? "—" : N == 1 ? format(Mean) : $"{format(Mean)} ± {(sdFormat ?? format)(Sd)}";
}
