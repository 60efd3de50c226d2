using Microsoft.AspNetCore.Http.Features;

namespace Uld.Gateway.Resilience;

/// <summary>
/// When a replica dies in the middle of a response, YARP aborts the client connection so that a truncated body is
/// never mistaken for a complete one. For an SSE stream, the OpenAI convention says more clearly what happened: an
/// <c>error</c> event, then <c>data: [DONE]</c>. This feature stands in for the request-lifetime feature during
/// forwarding and holds the abort back, so that the resilience middleware can end the stream that way; for any other
/// response it aborts for real.
/// </summary>
public sealed class StreamAbortGuard(IHttpRequestLifetimeFeature inner) : IHttpRequestLifetimeFeature
{
    public bool AbortRequested { get; private set; }

    public CancellationToken RequestAborted
    {
        get => inner.RequestAborted;
        set => inner.RequestAborted = value;
    }

    public void Abort() => AbortRequested = true;

    /// <summary>Performs the abort that was held back.</summary>
    public void AbortNow() => inner.Abort();

    public static StreamAbortGuard Install(HttpContext context)
    {
        var guard = new StreamAbortGuard(context.Features.Get<IHttpRequestLifetimeFeature>()!);
        context.Features.Set<IHttpRequestLifetimeFeature>(guard);
        return guard;
    }

    public static void Uninstall(HttpContext context, StreamAbortGuard guard) =>
        context.Features.Set<IHttpRequestLifetimeFeature>(guard.InnerFeature);

    private IHttpRequestLifetimeFeature InnerFeature => inner;
}
