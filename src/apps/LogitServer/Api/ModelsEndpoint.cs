using Uld.Contracts.OpenAi;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// GET /v1/models: every deployment, for ULD ones the whole α and relative-top policy and for offset ones the β policy —
/// the gateway enforces its α and β floors from this listing, so it must say exactly what admission checks.
/// </summary>
public static class ModelsEndpoint
{
    public static IResult List(DeploymentRegistry registry)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return Results.Json(new ModelList("list", registry.All.Select(d => new ModelCard(d.Name, "model", created, "uldserver", Policy(d)) { Offset = OffsetPolicy(d) }).ToList()),
            JsonBody.Options);
    }

    private static UldPolicyCard? Policy(Deployment d) => d.IsUld
        ? new UldPolicyCard(d.AlphaDefault, d.Options.AlphaMin, d.Options.AlphaMax, d.Options.RelativeTopDefault, d.Options.RelativeTopMin, d.Options.RelativeTopMax,
            RuleName(d.Options.DecodeRule))
        : null;

    /// <summary>The rule's wire name: snake_case of <see cref="UldRule"/>.</summary>
    public static string RuleName(UldRule rule) => rule switch
    {
        UldRule.Difference => "difference",
        UldRule.SuppressOnly => "suppress_only",
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };

    private static OffsetPolicyCard? OffsetPolicy(Deployment d) => d.IsOffset ? new OffsetPolicyCard(d.Options.BetaDefault, d.Options.BetaMin, d.Options.BetaMax) : null;
}
