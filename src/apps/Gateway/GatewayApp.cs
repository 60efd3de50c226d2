using Microsoft.Extensions.Options;
using Prometheus;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Api;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Uld.Gateway.Configuration;
using Uld.Gateway.Discovery;
using Uld.Gateway.Policy;
using Uld.Gateway.Resilience;
using Uld.Gateway.Routing;
using Uld.Gateway.Security;
using Uld.Web;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Uld.Gateway;

/// <summary>
/// Builds the gateway: OpenAI errors → route resolution (canonical path, explicit table) → API key and rate budget →
/// admission (model, experiment, α policy) → the route's endpoint (YARP with resilience, balancing and health for
/// forwarded routes).
/// </summary>
public static class GatewayApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        ConfigFileArgument.AddTo(builder.Configuration); // the Gateway section (and other settings)
        GatewayLogging.Configure(builder);
        configure?.Invoke(builder);

        var section = builder.Configuration.GetSection(GatewayOptions.Section);
        var options = StrictConfiguration.Bind<GatewayOptions>(section);
        GatewayOptionsValidator.ThrowIfInvalid(options);
        builder.Services.AddOptions<GatewayOptions>().Bind(section, StrictConfiguration.ConfigureBinder).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();

        var (routes, clusters) = ProxyConfigFactory.Create(options);
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<KeyRateLimiter>();
        builder.Services.AddSingleton<DeploymentPolicyRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeploymentPolicyRegistry>());
        builder.Services.AddSingleton<RequestAdmission>();
        builder.Services.AddSingleton<CompletionLog>();
        builder.Services.AddSingleton<ReplicaCircuitBreakers>();
        builder.Services.AddSingleton<ReplicaClient>();
        builder.Services.AddHttpClient(ReplicaClient.HttpClientName, c => c.Timeout = options.ActivityTimeout)
            .AddHttpMessageHandler(() => new DrainingReplicaHandler())
            .AddHttpMessageHandler(sp => new ReplicaCircuitBreakerHandler(sp.GetRequiredService<ReplicaCircuitBreakers>()));
        builder.Services.AddHttpClient(DeploymentPolicyRegistry.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton<IForwarderHttpClientFactory, ResilientForwarderHttpClientFactory>();
        builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);
        builder.Services.TryAddSingleton<IReplicaAddressResolver, DnsReplicaAddressResolver>(); // tests register theirs first
        builder.Services.AddSingleton<IDestinationResolver, ReplicaServiceResolver>();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.AddMetricsPort();

        var app = builder.Build();
        app.UseMiddleware<OpenAiErrorMiddleware>();
        app.UseMiddleware<RouteResolutionMiddleware>();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseMiddleware<AdmissionMiddleware>();

        app.MapGet(GatewayRoutes.Health.Path, HealthEndpoint.Handle);
        app.MapMetricsUnlessSeparate(); // with Metrics:Port set, /metrics here is a 404 like any unmapped path
        app.MapGet(GatewayRoutes.Models.Path, ModelsEndpoint.Handle);
        app.MapPost(GatewayRoutes.Compare.Path, CompareEndpoint.HandleAsync);
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(RouteToAdmittedCluster);
            proxy.Use(ForwardingResilienceMiddleware.InvokeAsync);
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        app.MapFallback(context => throw new OpenAiException(404, $"Unknown path {context.Request.Method} {context.Request.Path}.", "invalid_request_error", null, "unknown_url"));
        return app;
    }

    /// <summary>Sends the request to the cluster admission chose; a request that was not admitted is never forwarded.</summary>
    private static Task RouteToAdmittedCluster(HttpContext context, Func<Task> next)
    {
        if (context.Items[AdmissionMiddleware.ClusterItem] is not string clusterId
            || !context.RequestServices.GetRequiredService<IProxyStateLookup>().TryGetCluster(clusterId, out var cluster))
            throw new InvalidOperationException("A request reached the proxy without being admitted.");
        context.ReassignProxyRequest(cluster);
        return next();
    }

    public static Task<(WebApplication App, Uri Address)> StartOnLoopbackAsync(IDictionary<string, string?> settings, int port = 0) =>
        LoopbackHost.StartAsync((args, configure) => Build(args, configure), settings, port);
}
