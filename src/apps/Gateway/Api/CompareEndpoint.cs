using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Policy;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;

namespace Uld.Gateway.Api;

/// <summary>
/// POST /v1/compare: one chat request fanned out to several models at once, answers side by side —
/// {"models": ["target-uld", "npo-gd"], "messages": [...], ...any chat parameters}. Each fan-out is admitted by the
/// same policy as a chat completion and costs one rate-limit permit; if any is refused, none is sent.
/// </summary>
public static class CompareEndpoint
{
    public const int MaxModels = 8;

    public static async Task HandleAsync(HttpContext context, RequestAdmission admission, KeyRateLimiter limiter, ReplicaClient replicas, CompletionLog log)
    {
        var body = await StrictJsonBody.ReadObjectAsync(context.Request, context.RequestAborted);
        var models = body["models"] is JsonArray array ? array.Select(m => m?.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null).ToList() : null;
        if (models is not { Count: >= 1 and <= MaxModels } || models.Any(string.IsNullOrWhiteSpace))
            throw OpenAiException.InvalidRequest($"'models' must be an array of 1 to {MaxModels} model names.", "models", "invalid_models");
        if (body.ContainsKey("model")) throw OpenAiException.InvalidRequest("compare takes 'models', not 'model'.", "model", "unknown_parameter");
        if (body["stream"] is { } stream && stream.GetValueKind() != JsonValueKind.False)
            throw OpenAiException.InvalidRequest("compare does not stream.", "stream", "stream_not_supported");
        body.Remove("models");

        var key = ApiKeyMiddleware.KeyOf(context);
        limiter.Acquire(key, models.Count);
        var admitted = models.Select(model =>
        {
            var request = body.DeepClone().AsObject();
            request["model"] = model;
            return admission.Admit(key, GatewayRoutes.ChatCompletions, request);
        }).ToList();

        var results = await Task.WhenAll(admitted.Select(request => FanOutAsync(context, request, replicas, log, key)));
        await Results.Json(new JsonObject { ["object"] = "comparison", ["results"] = new JsonArray(results.Cast<JsonNode>().ToArray()) }).ExecuteAsync(context);
    }

    private static async Task<JsonObject> FanOutAsync(HttpContext context, AdmittedRequest request, ReplicaClient replicas, CompletionLog log, ApiKeyOptions key)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var json = request.Body.ToJsonString();
        using var response = await replicas.PostAsync(request.Cluster, GatewayRoutes.ChatCompletions.Path,
            () => new StringContent(json, Encoding.UTF8, "application/json"), context.RequestAborted);
        var status = response is null ? 503 : (int)response.StatusCode;
        log.Completed(context, key, request, status, started);
        if (response is null)
            return new JsonObject { ["model"] = request.RequestedModel, ["status"] = status, ["error"] = new JsonObject { ["message"] = "No replica was reachable.", ["code"] = "no_replica" } };
        JsonNode? payload;
        try
        {
            payload = JsonNode.Parse(await response.Content.ReadAsStringAsync(context.RequestAborted));
        }
        catch (JsonException)
        {
            payload = new JsonObject { ["error"] = new JsonObject { ["message"] = "The replica's answer was not JSON.", ["code"] = "bad_gateway" } };
        }
        return new JsonObject
        {
            ["model"] = request.RequestedModel,
            ["status"] = status,
            [response.IsSuccessStatusCode ? "response" : "error"] = response.IsSuccessStatusCode ? payload : payload?["error"]?.DeepClone(),
        };
    }
}
