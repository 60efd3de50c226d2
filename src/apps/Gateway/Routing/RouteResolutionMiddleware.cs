using Microsoft.AspNetCore.Http.Features;
using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Routing;

/// <summary>
/// The first step of every request: the path is canonicalised once from the raw request target and looked up in
/// <see cref="GatewayRoutes"/>. Unknown paths are 404 and wrong methods 405 (OpenAI shape); a known request continues
/// with its path rewritten to the canonical one and its query string dropped, so endpoint routing, the policy and
/// the replica all see the same request.
/// </summary>
public sealed class RouteResolutionMiddleware(RequestDelegate next)
{
    private const string RouteItem = "uld.route";

    public Task InvokeAsync(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var path = PathCanonicalizer.Canonicalize(raw is { Length: > 0 } && raw[0] == '/' ? raw : context.Request.Path.Value ?? "");
        var route = GatewayRoutes.Find(path)
                    ?? throw new OpenAiException(404, $"Unknown path {context.Request.Method} {context.Request.Path}.", "invalid_request_error", null, "unknown_url");
        if (!string.Equals(context.Request.Method, route.Method, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.Allow = route.Method;
            throw new OpenAiException(405, $"{route.Path} accepts {route.Method} only, not {context.Request.Method}.", "invalid_request_error", null, "method_not_allowed");
        }
        context.Request.Path = route.Path;
        context.Request.QueryString = QueryString.Empty;
        context.Items[RouteItem] = route;
        return next(context);
    }

    public static GatewayRoute RouteOf(HttpContext context) =>
        context.Items[RouteItem] as GatewayRoute ?? throw new InvalidOperationException("The request was not resolved to a gateway route.");
}
