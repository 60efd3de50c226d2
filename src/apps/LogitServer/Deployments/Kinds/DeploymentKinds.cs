namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// The kinds of deployment this server serves, and which one a configured entry is. Adding a kind is one class and one
/// line here (docs/DESIGN.md, *Adding a deployment kind*).
/// </summary>
public static class DeploymentKinds
{
    /// <summary>Every kind, one line each. Kinds that share a <see cref="DeploymentKind.Name"/> tell their entries apart by <see cref="DeploymentKind.Selects"/>.</summary>
    public static IReadOnlyList<DeploymentKind> All { get; } =
    [
        new PlainKind(),
        new UldKind(),
        new FusedUldKind(),
        new OffsetKind(),
    ];

    /// <summary>The kind that serves <paramref name="d"/>; null when its <c>Kind</c> names none.</summary>
    public static DeploymentKind? Of(DeploymentOptions d)
    {
        var matching = All.Where(k => IsNamed(k, d.Kind) && k.Selects(d)).ToList();
        return matching.Count switch
        {
            0 => null,
            1 => matching[0],
            _ => throw new InvalidOperationException($"kinds {string.Join(", ", matching.Select(k => k.GetType().Name))} all select deployment '{d.Name}'."),
        };
    }

    /// <summary>The values <c>Kind</c> may take, as listed in messages.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(k => k.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Whether <paramref name="kind"/> is the name of a kind (ignoring case).</summary>
    public static bool IsName(string? kind) => All.Any(k => IsNamed(k, kind));

    /// <summary>The name of a kind as the kind spells it ("uld" → "Uld"); unknown names unchanged.</summary>
    public static string? Canonical(string? kind) => All.FirstOrDefault(k => IsNamed(k, kind))?.Name ?? kind;

    /// <summary>Every kind's own settings: set on a deployment of a kind that does not read it, one of them is refused.</summary>
    public static IReadOnlyList<string> KindSettings { get; } = All.SelectMany(k => k.Settings).Distinct().ToList();

    /// <summary>The kinds (as labelled in messages) that accept a request control field, e.g. "ULD".</summary>
    public static string Accepting(string field) =>
        string.Join(" or ", All.Where(k => k.ControlFields.Contains(field)).Select(k => k.Label).Distinct());

    private static bool IsNamed(DeploymentKind kind, string? name) => string.Equals(kind.Name, name, StringComparison.OrdinalIgnoreCase);
}
