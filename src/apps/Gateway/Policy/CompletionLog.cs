using System.Diagnostics;
using System.Globalization;

namespace Uld.Gateway.Policy;

/// <summary>
/// One structured line per request that names a model (forwarded or a compare fan-out), admitted or refused: request
/// id, the key's name (never the key), model, variant, α served and status.
/// </summary>
public sealed partial class CompletionLog(ILogger<CompletionLog> logger)
{
    public void Completed(HttpContext context, ApiKeyOptions key, AdmittedRequest request, int status, long startedTimestamp) =>
        Write(context.TraceIdentifier, key.Name, request.RequestedModel, request.Deployment, request.Variant?.Name, request.Alpha, status, startedTimestamp);

    public void Refused(HttpContext context, ApiKeyOptions? key, int status, string code, long startedTimestamp) =>
        LogRefused(logger, context.TraceIdentifier, key?.Name ?? "-", context.Request.Path.Value ?? "", status, code,
            Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds);

    private void Write(string requestId, string keyName, string model, string deployment, string? variant, double? alpha, int status, long started) =>
        LogCompleted(logger, requestId, keyName, model, deployment, variant ?? "-",
            alpha?.ToString(CultureInfo.InvariantCulture) ?? "-", status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "request {RequestId} key={KeyName} model={Model} deployment={Deployment} variant={Variant} alpha={Alpha} status={Status} ms={ElapsedMs:F1}")]
    private static partial void LogCompleted(ILogger logger, string requestId, string keyName, string model, string deployment, string variant, string alpha, int status, double elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "request {RequestId} key={KeyName} path={Path} refused status={Status} code={Code} ms={ElapsedMs:F1}")]
    private static partial void LogRefused(ILogger logger, string requestId, string keyName, string path, int status, string code, double elapsedMs);
}
