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
        await Results.Json(new Comparison(Comparison.ObjectName, results), JsonBody.Options).ExecuteAsync(context);
    }

    /// <summary>One model's answer: its completion as the replica wrote it, or the replica's error, read as the records LogitServer writes.</summary>
    private static async Task<ComparisonResult> FanOutAsync(HttpContext context, AdmittedRequest request, ReplicaClient replicas, CompletionLog log, ApiKeyOptions key)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var json = request.Body.ToJsonString();
        using var response = await replicas.PostAsync(request.Cluster, GatewayRoutes.ChatCompletions.Path,
            () => new StringContent(json, Encoding.UTF8, "application/json"), context.RequestAborted);
        var status = response is null ? 503 : (int)response.StatusCode;
        log.Completed(context, key, request, status, started);
        if (response is null) return Failed(request, status, new ErrorBody("No replica was reachable.", "server_error", null, "no_replica"));
        var text = await response.Content.ReadAsStringAsync(context.RequestAborted);
        if (!response.IsSuccessStatusCode)
            return Failed(request, status, OpenAiWire.Error(text) ?? new ErrorBody("The replica's answer was not an OpenAI error.", "server_error", null, "bad_gateway"));
        try
        {
            return new ComparisonResult(request.RequestedModel, status, OpenAiWire.Read<ChatCompletion>(text), null);
        }
        catch (JsonException)
        {
            return Failed(request, status, new ErrorBody("The replica's answer was not a chat completion.", "server_error", null, "bad_gateway"));
        }
    }

    private static ComparisonResult Failed(AdmittedRequest request, int status, ErrorBody error) => new(request.RequestedModel, status, null, error);
}
