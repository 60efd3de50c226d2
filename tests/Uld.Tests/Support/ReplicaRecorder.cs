using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Uld.Tests.Support;

/// <summary>
/// Records every request a replica receives (except health probes and model listings), with the exact body, ahead of
/// the replica's own pipeline: what the gateway let through, as the replica saw it.
/// </summary>
public sealed class ReplicaRecorder : IStartupFilter
{
    public sealed record Received(string Method, string Path, string Query, string Body, bool HasAuthorization);

    private readonly ConcurrentQueue<Received> _received = new();

    public IReadOnlyList<Received> Requests => _received.ToArray();

    public void Clear() => _received.Clear();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path is not ("/health" or "/v1/models" or "/metrics"))
            {
                context.Request.EnableBuffering();
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                context.Request.Body.Position = 0;
                _received.Enqueue(new Received(context.Request.Method, path, context.Request.QueryString.Value ?? "", body,
                    context.Request.Headers.Authorization.Count > 0));
            }
            await nextMiddleware(context);
        });
        next(app);
    };
}
