using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>
/// The one selection rule of the held-out protocol (docs/METHODS.md, *Protocol*), the same for every method: among a
/// method's configurations measured on a validation forget set, the highest forget quality among those whose model
/// utility is at least <see cref="UtilityFloor"/> × the target's; if none is, the highest utility.
/// </summary>
public static class ConfigurationSelection
{
    public const double UtilityFloor = 0.95;
    /// <summary>Separates a method from its configuration (or seed) in a deployment name: "npo+gd~lr5e-4_steps200".</summary>
    public const char Separator = '~';

    /// <param name="MeetsFloor">whether the chosen one reached the utility floor (else it is the fallback)</param>
    public sealed record Choice(string Method, string Config, double? ForgetQuality, double UtilityRatio, bool MeetsFloor);

    /// <summary>(method, configuration) of a deployment name, or null when it does not name one.</summary>
    public static (string Method, string Config)? Parse(string deployment)
    {
        var name = deployment.Split('@')[0];
        var at = name.LastIndexOf(Separator);
        return at <= 0 || at == name.Length - 1 ? null : (name[..at], name[(at + 1)..]);
    }

    /// <summary>The chosen configuration of every method in <paramref name="results"/>, by method name.</summary>
    public static IReadOnlyDictionary<string, Choice> Choose(IEnumerable<DeploymentResult> results, double targetUtility, double floor = UtilityFloor)
    {
        if (!(targetUtility > 0)) throw new ArgumentException("the target's model utility must be positive.");
        var chosen = new SortedDictionary<string, Choice>(StringComparer.Ordinal);
        foreach (var method in ByMethod(results, r => r.Deployment))
        {
            var candidates = method.Select(x => new Choice(method.Key, x.Config, x.Result.ForgetQuality, x.Result.ModelUtility / targetUtility,
                x.Result.ModelUtility >= floor * targetUtility)).ToList();
            var eligible = candidates.Where(c => c.MeetsFloor).ToList();
            chosen[method.Key] = eligible.Count > 0
                ? eligible.OrderByDescending(c => c.ForgetQuality ?? 0).ThenByDescending(c => c.UtilityRatio).ThenBy(c => c.Config, StringComparer.Ordinal).First()
                : candidates.OrderByDescending(c => c.UtilityRatio).ThenBy(c => c.Config, StringComparer.Ordinal).First();
        }
        return chosen;
    }

    /// <summary>The results that name a configuration, grouped by method.</summary>
    public static IEnumerable<IGrouping<string, (string Config, T Result)>> ByMethod<T>(IEnumerable<T> results, Func<T, string> deployment) =>
        results.Select(r => (Name: Parse(deployment(r)), Result: r)).Where(x => x.Name is not null)
            .GroupBy(x => x.Name!.Value.Method, x => (x.Name!.Value.Config, x.Result));

    /// <summary>The file <c>select</c> writes: one "method config" line per method.</summary>
    public static string FormatChoices(IEnumerable<(string Method, string Config)> choices) => string.Concat(choices.Select(c => $"{c.Method} {c.Config}\n"));

    /// <summary>The choices of a file <see cref="FormatChoices"/> wrote, by method; none when it does not exist (selection has not run).</summary>
    public static IReadOnlyDictionary<string, string> ReadChoices(string file) => File.Exists(file)
        ? File.ReadLines(file).Select(l => l.Split(' ', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1])
        : new Dictionary<string, string>();
}
