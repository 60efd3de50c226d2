using System.Text.Json;
using System.Text.Json.Nodes;

namespace Uld.Gateway.Policy;

/// <summary>
/// How a deployment lets callers set α and the relative-top r, as its replicas list it on <c>GET /v1/models</c>
/// (LogitServer's deployment configuration is the one source of truth). <see cref="AlphaMin"/> is the floor that keeps
/// the unlearning in force. An offset deployment has a β policy instead (<see cref="Offset"/>); plain deployments have
/// neither. <see cref="Rule"/> is the decode rule α scales: replicas that serve one name with different rules disagree.
/// </summary>
public sealed record DeploymentPolicy(bool IsUld, double AlphaDefault, double AlphaMin, double AlphaMax,
    double RelativeTopDefault, double RelativeTopMin, double RelativeTopMax, string Rule = "difference")
{
    public static readonly DeploymentPolicy Plain = new(false, 0, 0, 0, 0, 0, 0);

    /// <summary>An offset deployment's β policy; null for plain and ULD deployments.</summary>
    public OffsetBetaPolicy? Offset { get; init; }

    /// <summary>Reads a model card's "uld" or "offset" extension; null when the card is malformed (then the policy stays unknown).</summary>
    public static DeploymentPolicy? FromCard(JsonObject card)
    {
        if (card["offset"] is not null)
            return card["uld"] is null && card["offset"] is JsonObject offset && OffsetBetaPolicy.FromCard(offset) is { } beta ? Plain with { Offset = beta } : null;
        if (card["uld"] is null) return Plain;
        if (card["uld"] is not JsonObject uld) return null;
        double? Number(string name) => CardNumber(uld, name);
        if (Number("alpha_default") is not { } alphaDefault || Number("alpha_min") is not { } alphaMin || Number("alpha_max") is not { } alphaMax
            || Number("relative_top_default") is not { } relativeTopDefault)
            return null;
        var rule = "difference"; // older replicas list no rule: theirs is the difference
        if (uld["rule"] is { } listed)
        {
            if (listed is not JsonValue value || value.GetValueKind() != JsonValueKind.String) return null;
            rule = value.GetValue<string>();
        }
        // Older replicas list no relative-top bounds; LogitServer's own default bounds are [0, 1].
        return new DeploymentPolicy(true, alphaDefault, alphaMin, alphaMax, relativeTopDefault,
            Number("relative_top_min") ?? 0, Number("relative_top_max") ?? 1, rule);
    }

    /// <summary>A finite JSON number, or null.</summary>
    internal static double? CardNumber(JsonObject extension, string name) =>
        extension[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && double.IsFinite(d) ? d : null;
}
