using Microsoft.Extensions.Options;
using Prometheus;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Api;
using Uld.Gateway.Resilience;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;
using Yarp.ReverseProxy.Forwarder;

namespace Uld.Gateway;

/// <summary>Builds the gateway: OpenAI errors → API keys → rate limits → model routing → YARP (resilience, balancing, health).</summary>
public static class GatewayApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.Services.Configure<GatewayOptions>(builder.Configuration.GetSection(GatewayOptions.Section));
        var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        var (routes, clusters) = ProxyConfigFactory.Create(options.Clusters.Count > 0 ? options : throw new InvalidOperationException("Gateway:Clusters is empty."));

        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<ReplicaClient>();
        builder.Services.AddHttpClient(ReplicaClient.HttpClientName, c => c.Timeout = options.ActivityTimeout);
        builder.Services.AddSingleton<IForwarderHttpClientFactory, ResilientForwarderHttpClientFactory>();
        builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);
        builder.Services.AddPerKeyRateLimits();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);

        var app = builder.Build();
        // Fail start-up, not the first request, on a bad catalog or key list.
        app.Services.GetRequiredService<ModelCatalog>();
        app.Services.GetRequiredService<ApiKeyStore>();

        app.UseMiddleware<OpenAiErrorMiddleware>();
        app.UseHttpMetrics();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseRateLimiter();
        app.UseMiddleware<ModelRoutingMiddleware>();

        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        app.MapMetrics("/metrics");
        app.MapGet("/v1/models", ModelsEndpoint.HandleAsync);
        app.MapPost("/v1/compare", CompareEndpoint.HandleAsync);
        app.MapReverseProxy(proxy =>
        {
            proxy.Use((context, next) =>
            {
                if (context.Items[ModelRoutingMiddleware.ClusterItem] is string clusterId
                    && context.RequestServices.GetRequiredService<Yarp.ReverseProxy.IProxyStateLookup>().TryGetCluster(clusterId, out var cluster))
                {
                    context.ReassignProxyRequest(cluster);
                }
                return next();
            });
            proxy.Use(ForwardingResilienceMiddleware.InvokeAsync);
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        app.MapFallback(context => OpenAiErrorMiddleware.WriteAsync(context,
            new OpenAiException(404, $"Unknown path {context.Request.Method} {context.Request.Path}.", "invalid_request_error", null, "unknown_url")));
        return app;
    }

    public static Task<(WebApplication App, Uri Address)> StartOnLoopbackAsync(IDictionary<string, string?> settings, int port = 0) =>
        LoopbackHost.StartAsync((args, configure) => Build(args, configure), settings, port);
}
