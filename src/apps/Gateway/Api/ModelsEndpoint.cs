using Uld.Contracts.OpenAi;
using Uld.Gateway.Policy;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;

namespace Uld.Gateway.Api;

/// <summary>
/// GET /v1/models: the routed deployments whose replicas agree on their policy (their cards as the replicas list them,
/// α policy included), plus experiments with at least one such variant, filtered by what the key may use.
/// </summary>
public static class ModelsEndpoint
{
    public static IResult Handle(HttpContext context, ModelCatalog catalog, DeploymentPolicyRegistry policies)
    {
        var key = ApiKeyMiddleware.KeyOf(context);
        var cards = new SortedDictionary<string, ModelCard>(StringComparer.Ordinal);
        foreach (var deployment in catalog.Deployments)
        {
            var (state, _, card) = policies.Lookup(catalog.ClusterFor(deployment)!, deployment);
            if (state == PolicyState.Known) cards[deployment] = card!;
        }
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (name, experiment) in catalog.Experiments)
        {
            if (experiment.Variants.Any(v => cards.ContainsKey(v.Model))) cards[name] = new ModelCard(name, "model", created, "uldserver-experiment");
        }
        var allowed = cards.Where(c => key.MayUse(c.Key)).Select(c => c.Value).ToList();
        return Results.Json(new ModelList("list", allowed), JsonBody.Options);
    }
}
