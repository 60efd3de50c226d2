namespace Uld.Evaluation.Metrics;

/// <summary>
/// Two-sample Kolmogorov–Smirnov test with the exact two-sided p-value (what scipy's <c>ks_2samp</c> reports for
/// samples of TOFU's size, and what forget quality is defined with). Written here because no maintained .NET package
/// offers the exact small-sample distribution; the asymptotic one is far off for 20–300 truth ratios.
/// </summary>
public static class KolmogorovSmirnov
{
    public sealed record Result(double Statistic, double PValue);

    public static Result TwoSample(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count == 0 || y.Count == 0) throw new ArgumentException("both samples need at least one value.");
        if (x.Concat(y).Any(double.IsNaN)) throw new ArgumentException("samples must not contain NaN.");
        long m = x.Count, n = y.Count;
        var a = x.Order().ToArray();
        var b = y.Order().ToArray();
        // D·m·n as an integer: max over distinct values v of |m·n·(F_x(v) − F_y(v))| = |i·n − j·m|.
        long dmn = 0;
        int i = 0, j = 0;
        while (i < m || j < n)
        {
            var v = i < m && (j >= n || a[i] <= b[j]) ? a[i] : b[j];
            while (i < m && a[i] == v) i++;
            while (j < n && b[j] == v) j++;
            dmn = Math.Max(dmn, Math.Abs(i * n - j * m));
        }
        return new Result((double)dmn / (m * n), PValue(m, n, dmn));
    }

    /// <summary>
    /// P(D ≥ d) under the null: 1 − P(a uniformly random monotone lattice path from (0,0) to (m,n) keeps
    /// |i·n − j·m| &lt; d·m·n everywhere). The path is walked as probabilities, not counts, so nothing overflows.
    /// </summary>
    private static double PValue(long m, long n, long dmn)
    {
        if (dmn == 0) return 1.0;
        var inside = new double[n + 1];
        inside[0] = 1.0;
        for (var j = 1; j <= n; j++) inside[j] = Math.Abs(j * m) < dmn ? inside[j - 1] * (n - j + 1) / (m + n - j + 1) : 0;
        for (var i = 1; i <= m; i++)
        {
            // Reaching (i, j): from (i−1, j) by an x-step or from (i, j−1) by a y-step, each with its hypergeometric probability.
            inside[0] = Math.Abs(i * n) < dmn ? inside[0] * (m - i + 1) / (m + n - i + 1) : 0;
            for (var j = 1; j <= n; j++)
            {
                if (Math.Abs(i * n - j * m) >= dmn) { inside[j] = 0; continue; }
                var fromLeft = inside[j] * (m - i + 1) / (m + n - i - j + 1);
                var fromBelow = inside[j - 1] * (n - j + 1) / (m + n - i - j + 1);
                inside[j] = fromLeft + fromBelow;
            }
        }
        return Math.Clamp(1.0 - inside[n], 0.0, 1.0);
    }
}
