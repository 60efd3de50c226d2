using Uld.Contracts.OpenAi;
using Uld.Web;

namespace Uld.LogitServer.Lifecycle;

/// <summary>
/// Admission by lifecycle: while serving, every request except the probes holds a <see cref="ReplicaDrain.Lease"/>
/// until its response (or stream) ends; while draining, /health answers 503 "draining" (readiness fails, so the pod
/// leaves its Service) and every other request gets a 503 in the OpenAI shape with Retry-After and the
/// <see cref="ReplicaDraining"/> marker, which tells a gateway to send it to another replica.
/// </summary>
public sealed class DrainMiddleware(RequestDelegate next, ReplicaDrain drain)
{
    public const int RetryAfterSeconds = 1;

    public async Task InvokeAsync(HttpContext context)
    {
        var path = (context.Request.Path.Value ?? "").TrimEnd('/');
        if (path.Equals("/health", StringComparison.OrdinalIgnoreCase))
        {
            if (!drain.IsDraining)
            {
                await next(context);
                return;
            }
            context.Response.Headers[ReplicaDraining.Header] = ReplicaDraining.HeaderValue;
            await Results.Json(new { status = "draining", in_flight = drain.InFlight }, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            return;
        }
        if (path.Equals(MetricsPort.Path, StringComparison.OrdinalIgnoreCase))
        {
            await next(context); // scraping goes on while the replica drains
            return;
        }

        using var lease = drain.TryAdmit();
        if (lease is null)
        {
            context.Response.Headers[ReplicaDraining.Header] = ReplicaDraining.HeaderValue;
            await OpenAiErrorMiddleware.WriteAsync(context, new OpenAiException(503,
                "This replica is shutting down and admits no new requests; retry, another replica will serve it.",
                "server_error", null, ReplicaDraining.ErrorCode) { RetryAfterSeconds = RetryAfterSeconds });
            return;
        }
        await next(context);
    }
}
