using System.Net.Http;
using Polly.CircuitBreaker;
using Uld.Contracts.OpenAi;
using Uld.Web;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Uld.Gateway.Resilience;

/// <summary>
/// The proxy-pipeline step around load balancing and forwarding. A request whose connection to a replica could not
/// be opened (or whose replica's circuit is open, or which a draining replica refused) never reached generation, so it is sent to another healthy replica; any
/// other failure is reported, never silently retried, because the replica may already be generating. Failures become
/// OpenAI-shaped 502/503/504 errors, or, inside a started SSE stream, an error event followed by [DONE].
/// </summary>
public static class ForwardingResilienceMiddleware
{
    private const int MaxAttempts = 3;

    public static async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var guard = StreamAbortGuard.Install(context);
        var proxy = context.GetReverseProxyFeature();
        // Load balancing narrows AvailableDestinations to its pick; keep the healthy set to choose again from.
        var candidates = proxy.AvailableDestinations;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                proxy.AvailableDestinations = candidates;
                await next();
                var error = context.Features.Get<IForwarderErrorFeature>();
                if (error is null) return;
                GatewayMetrics.UpstreamFailures.WithLabels(error.Error.ToString()).Inc();

                if (context.Response.HasStarted)
                {
                    await EndStartedResponseAsync(context, guard, error);
                    return;
                }
                if (attempt < MaxAttempts && NeverReachedReplica(error) && candidates.Count > 1)
                {
                    candidates = candidates.Where(d => d != proxy.ProxiedDestination).ToList();
                    GatewayMetrics.Retries.WithLabels(proxy.Cluster.Config.ClusterId).Inc();
                    context.Features.Set<IForwarderErrorFeature>(null);
                    context.Response.StatusCode = StatusCodes.Status200OK; // the forwarder refuses a context already marked failed
                    context.Request.Body.Position = 0;
                    continue;
                }
                await OpenAiErrorMiddleware.WriteAsync(context, ToOpenAiError(error));
                return;
            }
        }
        finally
        {
            StreamAbortGuard.Uninstall(context, guard);
        }
    }

    /// <summary>
    /// Connection refused, or the replica's circuit is open: not one byte of the request was sent. Or the replica is
    /// draining: it refused the request before admitting it.
    /// </summary>
    private static bool NeverReachedReplica(IForwarderErrorFeature error) =>
        error.Error is ForwarderError.Request or ForwarderError.NoAvailableDestinations
        && error.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } or BrokenCircuitException
            or HttpRequestException { InnerException: BrokenCircuitException } or ReplicaDrainingException
            or HttpRequestException { InnerException: ReplicaDrainingException };

    private static async Task EndStartedResponseAsync(HttpContext context, StreamAbortGuard guard, IForwarderErrorFeature error)
    {
        var clientGone = context.RequestAborted.IsCancellationRequested
                         || error.Error is ForwarderError.ResponseBodyClient or ForwarderError.ResponseBodyCanceled or ForwarderError.RequestCanceled;
        var isStream = context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;
        if (!guard.AbortRequested || clientGone || !isStream)
        {
            if (guard.AbortRequested) guard.AbortNow();
            return;
        }
        try
        {
            await new SseWriter(context.Response).WriteErrorAsync(
                new OpenAiException(502, "The replica serving this stream failed before it finished; the answer is incomplete.", "server_error", null, "upstream_failed"),
                context.RequestAborted);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            guard.AbortNow();
        }
    }

    private static OpenAiException ToOpenAiError(IForwarderErrorFeature error) => error.Error switch
    {
        ForwarderError.NoAvailableDestinations => OpenAiException.Overloaded("No healthy replica is available for this model; retry shortly.", retryAfterSeconds: 2),
        ForwarderError.RequestTimedOut => new OpenAiException(504, "The replica did not answer in time.", "server_error", null, "upstream_timeout"),
        _ when error.Exception is ReplicaDrainingException or HttpRequestException { InnerException: ReplicaDrainingException } =>
            OpenAiException.Overloaded("Every replica for this model is shutting down; retry shortly.", retryAfterSeconds: 2),
        _ when error.Exception is BrokenCircuitException or HttpRequestException { InnerException: BrokenCircuitException } =>
            OpenAiException.Overloaded("Every replica for this model is failing; retry shortly.", retryAfterSeconds: 5),
        _ => new OpenAiException(502, $"The replica failed: {error.Error}.", "server_error", null, "bad_gateway"),
    };
}
