using System.Threading.RateLimiting;
using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Security;

/// <summary>
/// Per-key request budgets (a fixed window of <see cref="ApiKeyOptions.RequestsPerMinute"/>). Every request to a
/// replica costs one permit, so a compare of N models costs N; refusals are OpenAI 429s with Retry-After.
/// </summary>
public sealed class KeyRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<ApiKeyOptions> _limiter = PartitionedRateLimiter.Create<ApiKeyOptions, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key.Name, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = key.RequestsPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    /// <summary>Takes <paramref name="permits"/> from the key's budget, all or none.</summary>
    public void Acquire(ApiKeyOptions key, int permits)
    {
        if (permits > key.RequestsPerMinute) throw Exceeded(60, $"This request needs {permits} requests of a budget of {key.RequestsPerMinute} per minute.");
        using var lease = _limiter.AttemptAcquire(key, permits);
        if (lease.IsAcquired) return;
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 60;
        throw Exceeded(retryAfter, "Rate limit reached for this API key; retry after the indicated time.");
    }

    private static OpenAiException Exceeded(int retryAfterSeconds, string message) =>
        new(429, message, "requests", null, "rate_limit_exceeded") { RetryAfterSeconds = Math.Max(1, retryAfterSeconds) };

    public void Dispose() => _limiter.Dispose();
}
