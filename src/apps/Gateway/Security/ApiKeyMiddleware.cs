using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Security;

/// <summary>Authenticates "Authorization: Bearer &lt;key&gt;" and records the key for the policies that follow.</summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyStore keys, IOptions<GatewayOptions> options)
{
    public const string ItemKey = "uld.api-key";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics")) return next(context);

        var header = context.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        ApiKeyOptions? key;
        if (string.IsNullOrEmpty(presented))
        {
            key = options.Value.RequireApiKey ? null : ApiKeyStore.Anonymous;
            if (key is null)
                throw new OpenAiException(401, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
        }
        else
        {
            key = keys.Find(presented)
                  ?? throw new OpenAiException(401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key");
        }
        context.Items[ItemKey] = key;
        return next(context);
    }

    public static ApiKeyOptions KeyOf(HttpContext context) => (ApiKeyOptions)context.Items[ItemKey]!;
}
