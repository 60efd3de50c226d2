using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;

namespace Uld.Gateway.Api;

/// <summary>
/// POST /v1/compare: one chat request fanned out to several deployments at once, answers side by side —
/// {"models": ["target-uld", "npo-gd"], "messages": [...], ...any chat parameters}.
/// </summary>
public static class CompareEndpoint
{
    public static async Task HandleAsync(HttpContext context, ReplicaClient replicas, ModelCatalog catalog)
    {
        var body = await JsonBody.ReadAsync<JsonObject>(context.Request, context.RequestAborted);
        var models = body["models"] is JsonArray array ? array.Select(m => m?.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null).ToList() : null;
        if (models is not { Count: >= 1 and <= 8 } || models.Any(string.IsNullOrWhiteSpace))
            throw OpenAiException.InvalidRequest("'models' must be an array of 1 to 8 deployment names.", "models");
        if (body["stream"]?.GetValueKind() == JsonValueKind.True) throw OpenAiException.InvalidRequest("compare does not stream.", "stream");
        var key = ApiKeyMiddleware.KeyOf(context);
        foreach (var model in models) ModelRoutingMiddleware.CheckAllowed(key, model!);
        body.Remove("models");

        var results = await Task.WhenAll(models.Select(async model =>
        {
            var cluster = catalog.ClusterFor(model!) ?? throw OpenAiException.ModelNotFound(model!);
            var request = body.DeepClone().AsObject();
            request["model"] = model;
            foreach (var replica in replicas.HealthyReplicas(cluster))
            {
                try
                {
                    using var content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json");
                    using var response = await replicas.Http.PostAsync(new Uri(replica, "/v1/chat/completions"), content, context.RequestAborted);
                    var payload = JsonNode.Parse(await response.Content.ReadAsStringAsync(context.RequestAborted));
                    return new JsonObject
                    {
                        ["model"] = model,
                        ["status"] = (int)response.StatusCode,
                        [response.IsSuccessStatusCode ? "response" : "error"] = response.IsSuccessStatusCode ? payload : payload?["error"]?.DeepClone(),
                    };
                }
                catch (HttpRequestException)
                {
                    // That replica is unreachable: the next one gets the (not yet started) request.
                }
            }
            return new JsonObject { ["model"] = model, ["status"] = 503, ["error"] = new JsonObject { ["message"] = "no replica reachable" } };
        }));
        await Results.Json(new JsonObject { ["object"] = "comparison", ["results"] = new JsonArray(results.Cast<JsonNode>().ToArray()) }).ExecuteAsync(context);
    }
}
