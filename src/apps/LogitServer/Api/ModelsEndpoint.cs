using Uld.Contracts.OpenAi;
using Uld.LogitServer.Deployments;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// GET /v1/models: every deployment, each with the policy its kind publishes (a ULD deployment's α and relative-top
/// policy, an offset deployment's β policy) — the gateway enforces its α and β floors from this listing, so it must
/// say exactly what admission checks.
/// </summary>
public static class ModelsEndpoint
{
    public static IResult List(DeploymentRegistry registry)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var cards = registry.All.Select(d => d.Kind.Publish(d.Options, new ModelCard(d.Name, "model", created, "uldserver", null))).ToList();
        return Results.Json(new ModelList("list", cards), JsonBody.Options);
    }
}
