using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Uld.Contracts.OpenAi;
using Uld.Web;

namespace Uld.Gateway.Security;

/// <summary>Per-key request rate limits (ASP.NET Core rate limiting), rejected as OpenAI 429 with Retry-After.</summary>
public static class RateLimiting
{
    public static IServiceCollection AddPerKeyRateLimits(this IServiceCollection services) => services.AddRateLimiter(limiter =>
    {
        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            if (context.Items[ApiKeyMiddleware.ItemKey] is not ApiKeyOptions key) return RateLimitPartition.GetNoLimiter("unauthenticated");
            return RateLimitPartition.GetFixedWindowLimiter(key.Name, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = key.RequestsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });
        });
        limiter.OnRejected = async (rejected, _) =>
        {
            var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 60;
            await OpenAiErrorMiddleware.WriteAsync(rejected.HttpContext, new OpenAiException(429,
                "Rate limit reached for this API key; retry after the indicated time.", "requests", null, "rate_limit_exceeded")
            { RetryAfterSeconds = Math.Max(1, retryAfter) });
        };
    });
}
