using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Experiments;
using Uld.Gateway.Security;
using Uld.Web;

namespace Uld.Gateway.Routing;

/// <summary>
/// Reads the JSON body of a completion request once, applies the key's model and α policy, resolves an experiment
/// name to its sticky variant (rewriting <c>model</c> and naming the variant in a response header), and records which
/// cluster must serve the request. The body is then replayed to the replica.
/// </summary>
public sealed class ModelRoutingMiddleware(RequestDelegate next, ModelCatalog catalog, IOptions<GatewayOptions> options)
{
    public const string ClusterItem = "uld.cluster";
    public const string VariantHeader = "X-Uld-Variant";
    public const string ExperimentHeader = "X-Uld-Experiment";

    /// <summary>Requests whose body names the model, and so the cluster.</summary>
    private static readonly HashSet<string> RoutedPaths = ["/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"];

    public async Task InvokeAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || !RoutedPaths.Contains(context.Request.Path.Value ?? ""))
        {
            await next(context);
            return;
        }

        var body = await JsonBody.ReadAsync<JsonObject>(context.Request, context.RequestAborted);
        var model = body["model"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null;
        if (string.IsNullOrWhiteSpace(model)) throw OpenAiException.InvalidRequest("'model' is required.", "model");
        var key = ApiKeyMiddleware.KeyOf(context);
        CheckAllowed(key, model);

        var deployment = model;
        VariantOptions? variant = null;
        if (catalog.Experiments.TryGetValue(model, out var experiment))
        {
            // Sticky per end user when the client names one, otherwise per API key.
            var user = body["user"] is JsonValue u && u.GetValueKind() == JsonValueKind.String ? u.GetValue<string>() : null;
            variant = ExperimentAssigner.Assign(model, experiment, user is { Length: > 0 } ? "user:" + user : "key:" + key.Name);
            deployment = variant.Model;
            body["model"] = deployment;
            context.Response.Headers[ExperimentHeader] = model;
            context.Response.Headers[VariantHeader] = variant.Name;
        }
        var cluster = catalog.ClusterFor(deployment) ?? throw OpenAiException.ModelNotFound(model);
        CheckAlpha(key, deployment, body);

        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        context.Items[ClusterItem] = cluster;

        if (variant is null)
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            GatewayMetrics.VariantRequests.WithLabels(model, variant.Name, context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
            GatewayMetrics.VariantLatency.WithLabels(model, variant.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    public static void CheckAllowed(ApiKeyOptions key, string model)
    {
        if (!key.MayUse(model))
            throw new OpenAiException(403, $"This API key may not use model '{model}'.", "invalid_request_error", "model", "model_not_allowed");
    }

    private void CheckAlpha(ApiKeyOptions key, string deployment, JsonObject body)
    {
        if (body["uld_alpha"] is not JsonValue value || value.GetValueKind() != JsonValueKind.Number) return;
        var alpha = value.GetValue<double>();
        OpenAiException Forbidden(string why) => new(403, why, "invalid_request_error", "uld_alpha", "alpha_not_allowed");
        if (key.AlphaMin is { } min && alpha < min) throw Forbidden($"This API key may not set uld_alpha below {min}.");
        if (key.AlphaMax is { } max && alpha > max) throw Forbidden($"This API key may not set uld_alpha above {max}.");
        if (options.Value.AlphaFloors.TryGetValue(deployment, out var floor) && alpha < floor && !key.MayLowerAlphaBelowFloor)
            throw Forbidden($"uld_alpha below {floor} would undo the unlearning of '{deployment}'; this API key is not granted that.");
    }
}
