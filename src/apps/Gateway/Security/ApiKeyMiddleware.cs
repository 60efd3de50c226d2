using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Routing;
using Uld.Web;

namespace Uld.Gateway.Security;

/// <summary>
/// Authenticates "Authorization: Bearer &lt;key&gt;" on every route that is not public, records the key for the
/// policies that follow and takes one permit of its rate budget (compare takes one per model itself).
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyStore keys, KeyRateLimiter limiter, IOptions<GatewayOptions> options)
{
    private const string ItemKey = "uld.api-key";

    public Task InvokeAsync(HttpContext context)
    {
        var route = RouteResolutionMiddleware.RouteOf(context);
        if (route.Kind == RouteKind.Public) return next(context);

        var key = Authenticate(context.Request.Headers.Authorization.ToString());
        context.Items[ItemKey] = key;
        if (route.Kind != RouteKind.Compare) limiter.Acquire(key, 1);
        return next(context);
    }

    private ApiKeyOptions Authenticate(string header)
    {
        var presented = KeyHash.BearerToken(header);
        if (presented is not null)
            return keys.Find(presented) ?? throw new OpenAiException(401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key");
        if (!options.Value.RequireApiKey) return ApiKeyStore.Anonymous;
        throw new OpenAiException(401, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
    }

    public static ApiKeyOptions KeyOf(HttpContext context) => (ApiKeyOptions)context.Items[ItemKey]!;
}
