namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// Every forget term of the gradient baselines. Adding a method is one <see cref="ForgetTerm"/> subclass in its own file
/// and one line here (docs/METHODS.md, *Adding a method*).
/// </summary>
public static class ForgetTerms
{
    public static readonly IReadOnlyList<ForgetTerm> All =
    [
        new GradientAscent(),
        new GradientAscentMean(),
        new GradientAscentBounded(),
        new Npo(),
        new NpoTokenWeighted(),
        new SimNpo(),
        new Dpo(),
        new Idk(),
        new Flat("kl"), new Flat("tv"), new Flat("js"), new Flat("pearson"),
        new TaskVector(),
        new GradSimAscent(),
        new Rmu(),
    ];

    /// <summary>The term of a method name ("npo+gd" → npo), or null when no term offers that name.</summary>
    public static ForgetTerm? Of(string method)
    {
        var name = method.Split('+')[0];
        var term = All.FirstOrDefault(t => t.Name == name);
        return term is not null && term.MethodNames.Contains(method) ? term : null;
    }
}
