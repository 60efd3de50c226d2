using System.Diagnostics;
using System.Globalization;
using Microsoft.Net.Http.Headers;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;

namespace Uld.Gateway.Policy;

/// <summary>
/// Every forwarded route passes here (keyed on the resolved route, never on a path string): the body is read strictly,
/// admitted by <see cref="RequestAdmission"/>, and replaced by the re-serialised admitted body, so the replica reads
/// exactly what was checked. The cluster is recorded for the proxy; experiments are named in response headers.
/// </summary>
public sealed class AdmissionMiddleware(RequestDelegate next, RequestAdmission admission, CompletionLog log)
{
    public const string ClusterItem = "uld.cluster";
    public const string VariantHeader = "X-Uld-Variant";
    public const string ExperimentHeader = "X-Uld-Experiment";

    public async Task InvokeAsync(HttpContext context)
    {
        var route = RouteResolutionMiddleware.RouteOf(context);
        if (route.Kind != RouteKind.Forwarded)
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        var key = ApiKeyMiddleware.KeyOf(context);
        AdmittedRequest request;
        try
        {
            if (context.Request.Headers.ContentEncoding.Count > 0)
                throw new OpenAiException(415, "Compressed request bodies are not accepted.", "invalid_request_error", null, "unsupported_media_type");
            var body = await StrictJsonBody.ReadObjectAsync(context.Request, context.RequestAborted);
            request = admission.Admit(key, route, body);
        }
        catch (OpenAiException e)
        {
            log.Refused(context, key, e.Status, e.Code ?? e.Type, started);
            throw;
        }

        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request.Body, JsonBody.Options);
        context.Request.Body = new MemoryStream(bytes, writable: false);
        context.Request.ContentLength = bytes.Length;
        context.Request.ContentType = "application/json";
        context.Request.Headers.Remove(HeaderNames.TransferEncoding);
        context.Items[ClusterItem] = request.Cluster;
        if (request.Variant is not null)
        {
            context.Response.Headers[ExperimentHeader] = request.RequestedModel;
            context.Response.Headers[VariantHeader] = request.Variant.Name;
        }
        try
        {
            await next(context);
        }
        finally
        {
            log.Completed(context, key, request, context.Response.StatusCode, started);
            if (request.Variant is { } variant)
            {
                GatewayMetrics.VariantRequests.WithLabels(request.RequestedModel, variant.Name, context.Response.StatusCode.ToString(CultureInfo.InvariantCulture)).Inc();
                GatewayMetrics.VariantLatency.WithLabels(request.RequestedModel, variant.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        }
    }
}
