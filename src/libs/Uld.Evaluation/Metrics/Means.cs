namespace Uld.Evaluation.Metrics;

public static class Means
{
    /// <summary>Harmonic mean; 0 if any value is 0 (TOFU's model utility: one collapsed ability sinks it).</summary>
    public static double Harmonic(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values.");
        if (values.Any(v => v < 0 || double.IsNaN(v))) throw new ArgumentException("harmonic mean needs non-negative numbers.");
        return values.Any(v => v == 0) ? 0 : values.Count / values.Sum(v => 1.0 / v);
    }
}
