using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;

namespace Uld.Gateway.Api;

/// <summary>GET /v1/models: what reachable replicas serve, plus experiments, filtered by what the key may use.</summary>
public static class ModelsEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, ReplicaClient replicas, ModelCatalog catalog)
    {
        var key = ApiKeyMiddleware.KeyOf(context);
        var cards = new Dictionary<string, ModelCard>(StringComparer.Ordinal);
        foreach (var clusterId in replicas.ClusterIds)
        {
            foreach (var replica in replicas.HealthyReplicas(clusterId))
            {
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                    timeout.CancelAfter(TimeSpan.FromSeconds(3));
                    var list = await replicas.Http.GetFromJsonAsync<ModelList>(new Uri(replica, "/v1/models"), JsonBody.Options, timeout.Token);
                    // Only what this gateway routes: a replica may serve more than its cluster is configured for.
                    foreach (var card in list?.Data ?? []) if (catalog.ClusterFor(card.Id) == clusterId) cards.TryAdd(card.Id, card);
                    break; // one reachable replica speaks for its cluster
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
                {
                    // Try the cluster's next replica.
                }
            }
        }
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (name, experiment) in catalog.Experiments)
        {
            if (experiment.Variants.Any(v => cards.ContainsKey(v.Model))) cards.TryAdd(name, new ModelCard(name, "model", created, "uldserver-experiment", null));
        }
        var allowed = cards.Values.Where(c => key.MayUse(c.Id)).OrderBy(c => c.Id, StringComparer.Ordinal).ToList();
        return Results.Json(new ModelList("list", allowed), JsonBody.Options);
    }
}
