using Uld.Contracts;
using Uld.Eval.Corpora;

namespace Uld.Eval.Reports;

/// <summary>
/// The selection rule of the books benchmark (docs/METHODS.md, *Books benchmark*), the same for every method: among a
/// method's configurations measured by <c>uld-eval corpus</c> on the validation forget set, those with retain VerbMem ≥
/// <see cref="BookBars.RetainFloor"/> × the target's and (when measured) fluency ≤ <see cref="BookBars.FluencyCeiling"/>
/// × the retain model's; of them, the forget VerbMem nearest the retain model's, ties by the smaller |PrivLeak|. If none
/// meets both floors, the highest retain VerbMem.
/// </summary>
public static class CorpusSelection
{
    /// <param name="ForgetGap">|forget VerbMem − the retain model's forget VerbMem|: 0 is forgetting exactly as much as never having seen it</param>
    /// <param name="RetainRatio">retain VerbMem / the target's</param>
    /// <param name="MeetsFloors">whether it meets the retain and fluency floors (a chosen one that does not is the fallback)</param>
    public sealed record Choice(string Method, string Config, double ForgetVerbMem, double ForgetGap, double RetainRatio, double? FluencyRatio,
        double? PrivLeak, bool MeetsFloors);

    /// <summary>Every configuration of every method in <paramref name="results"/>, measured against the target and the retain model.</summary>
    public static IReadOnlyList<Choice> Candidates(IEnumerable<CorpusDeploymentResult> results, CorpusDeploymentResult target, CorpusDeploymentResult retain)
    {
        if (!(target.Retain.VerbMem > 0)) throw new UserErrorException($"the target's retain VerbMem is {target.Retain.VerbMem}: no floor can be relative to it.");
        return ConfigurationSelection.ByMethod(results, r => r.Deployment).SelectMany(method => method.Select(x =>
        {
            var ratio = x.Result.Retain.VerbMem / target.Retain.VerbMem;
            return new Choice(method.Key, x.Config, x.Result.Forget.VerbMem, Math.Abs(x.Result.Forget.VerbMem - retain.Forget.VerbMem), ratio,
                x.Result.FluencyRatio, x.Result.PrivLeak, BookBars.KeepsRetain(ratio) && BookBars.Fluent(x.Result.FluencyRatio) != false);
        })).ToList();
    }

    /// <summary>The chosen configuration of every method, by method name.</summary>
    public static IReadOnlyDictionary<string, Choice> Choose(IReadOnlyList<Choice> candidates)
    {
        // Gaps are differences of means: equal ones must tie (and go to |PrivLeak|) whatever floating point makes of them.
        var chosen = new SortedDictionary<string, Choice>(StringComparer.Ordinal);
        foreach (var method in candidates.GroupBy(c => c.Method))
        {
            var eligible = method.Where(c => c.MeetsFloors).ToList();
            chosen[method.Key] = eligible.Count > 0
                ? eligible.OrderBy(c => Math.Round(c.ForgetGap, 9)).ThenBy(c => c.PrivLeak is { } p ? Math.Abs(p) : double.PositiveInfinity).ThenBy(c => c.Config, StringComparer.Ordinal).First()
                : method.OrderByDescending(c => c.RetainRatio).ThenBy(c => c.Config, StringComparer.Ordinal).First();
        }
        return chosen;
    }
}
