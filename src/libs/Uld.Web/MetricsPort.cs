using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Hosting;
using Prometheus;

namespace Uld.Web;

/// <summary>
/// Where <c>/metrics</c> is served. By default on the API port (local runs); with <c>Metrics:Port</c> set, on that port
/// only, by a server of its own, so a published API port never exposes the metrics and a scraper (or a Kubernetes
/// pod's metrics port) reaches them without an API key.
/// </summary>
public static class MetricsPort
{
    public const string PortKey = "Metrics:Port";
    public const string Path = "/metrics";

    /// <summary>Call on the builder: registers the metrics server when <c>Metrics:Port</c> is set.</summary>
    public static void AddMetricsPort(this WebApplicationBuilder builder)
    {
        if (Configured(builder.Configuration) is { } port) builder.Services.AddHostedService(_ => new MetricsServer(port));
    }

    /// <summary>Call on the app: maps <c>/metrics</c> on the API port unless it has a port of its own.</summary>
    public static void MapMetricsUnlessSeparate(this WebApplication app)
    {
        if (Configured(app.Configuration) is null) app.MapMetrics(Path);
    }

    /// <summary>The configured port, or null; a value that is not a port stops start-up with the key named.</summary>
    public static int? Configured(IConfiguration configuration)
    {
        var value = configuration[PortKey];
        if (string.IsNullOrWhiteSpace(value)) return null;
        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new StartupConfigurationException($"{PortKey} must be a TCP port (1–65535), not '{value}'.");
    }

    /// <summary>
    /// A second, minimal web application on every interface of the metrics port, serving only <c>/metrics</c> for the
    /// host's lifetime. Started and awaited with the host, so a port that cannot be bound stops start-up.
    /// </summary>
    private sealed class MetricsServer(int port) : IHostedService, IAsyncDisposable
    {
        private WebApplication? _app;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://+:{port}");
            _app = builder.Build();
            _app.MapMetrics(Path);
            await _app.StartAsync(cancellationToken);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_app is not null) await _app.StopAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null) await _app.DisposeAsync();
        }
    }
}
