using Uld.Contracts.OpenAi;
using Uld.Forget.Configuration;
using Uld.Web;

namespace Uld.Forget.Api;

/// <summary>
/// Every path but <c>GET /health</c> needs <c>Authorization: Bearer &lt;admin key&gt;</c>, whatever its spelling, method
/// or whether a route exists: authentication comes before routing, so an unknown path tells an unauthenticated caller
/// nothing. Keys are compared by their sha256 (<see cref="KeyHash"/>).
/// </summary>
public sealed class AdminKeyMiddleware(RequestDelegate next, ForgetOptions options)
{
    public const string KeyNameItem = "uld.forget.admin-key";

    private readonly Dictionary<string, string> _names = options.AdminKeys.ToDictionary(k => k.Sha256.ToLowerInvariant(), k => k.Name);

    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Equals("/health", StringComparison.OrdinalIgnoreCase)) return next(context);
        var presented = KeyHash.BearerToken(context.Request.Headers.Authorization.ToString())
            ?? throw new OpenAiException(401, "You didn't provide an admin key. Send it as 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
        context.Items[KeyNameItem] = _names.GetValueOrDefault(KeyHash.Sha256Hex(presented))
            ?? throw new OpenAiException(401, "Incorrect admin key provided.", "invalid_request_error", null, "invalid_api_key");
        return next(context);
    }
}
