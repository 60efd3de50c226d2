using Microsoft.AspNetCore.Builder;
using Uld.LogitServer;
using Uld.Web;

namespace Uld.Tests.Support;

/// <summary>A real LogitServer on a free loopback port, configured from key/value pairs.</summary>
public sealed class LogitServerHost : IAsyncDisposable
{
    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }

    private LogitServerHost(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <param name="configure">Extra set-up of the replica's builder (e.g. a <see cref="ReplicaRecorder"/>).</param>
    /// <param name="host">the loopback address to listen on (127.0.0.2 and others are loopback too)</param>
    public static async Task<LogitServerHost> StartAsync(IDictionary<string, string?> settings, Action<WebApplicationBuilder>? configure = null,
        string host = "127.0.0.1", int port = 0)
    {
        var (app, address) = await LoopbackHost.StartAsync((args, configureHost) => LogitServerApp.Build(args, builder =>
        {
            configureHost(builder);
            configure?.Invoke(builder);
        }), settings, port, host);
        return new LogitServerHost(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
