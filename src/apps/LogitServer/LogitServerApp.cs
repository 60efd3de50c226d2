using Prometheus;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Api;
using Uld.Web;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer;

/// <summary>Builds the LogitServer web application; Program.cs runs it, tests host it on loopback.</summary>
public static class LogitServerApp
{
    /// <summary>Requests larger than this are refused with 413.</summary>
    public const long MaxRequestBodyBytes = 4 * 1024 * 1024;

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        // --config FILE: deployments (and other settings) from a JSON file, e.g. models/deployments.json.
        if (builder.Configuration["config"] is { Length: > 0 } file)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"--config {file} does not exist.");
            builder.Configuration.AddJsonFile(Path.GetFullPath(file), optional: false);
        }
        builder.Services.Configure<LogitServerOptions>(builder.Configuration.GetSection(LogitServerOptions.Section));
        builder.Services.AddSingleton(sp => ThreadingPlan.For(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<LogitServerOptions>>().Value, Environment.ProcessorCount));
        builder.Services.AddSingleton<DeploymentRegistry>();
        builder.Services.AddSingleton<SchedulerPool>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SchedulerPool>());
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<OpenAiErrorMiddleware>();
        app.UseHttpMetrics();

        app.MapPost("/v1/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        app.MapPost("/v1/completions", CompletionsEndpoint.HandleAsync);
        app.MapPost("/tokenize", TokenizeEndpoint.TokenizeAsync);
        app.MapPost("/detokenize", TokenizeEndpoint.DetokenizeAsync);
        app.MapGet("/v1/models", (DeploymentRegistry registry) => Results.Json(new ModelList("list", registry.All.Select(d =>
            new ModelCard(d.Name, "model", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), "uldserver",
                d.IsUld ? new UldPolicyCard(d.Options.AlphaDefault, d.Options.AlphaMin, d.Options.AlphaMax, d.Options.RelativeTopDefault) : null)).ToList()),
            JsonBody.Options));
        app.MapGet("/health", (DeploymentRegistry registry) => Results.Json(new { status = "ok", deployments = registry.All.Select(d => d.Name) }));
        app.MapMetrics("/metrics");
        app.MapFallback(context => OpenAiErrorMiddleware.WriteAsync(context,
            new OpenAiException(404, $"Unknown path {context.Request.Method} {context.Request.Path}.", "invalid_request_error", null, "unknown_url")));

        // Resolve the registry now so that a bad configuration fails start-up, not the first request.
        app.Services.GetRequiredService<SchedulerPool>();
        return app;
    }

    /// <summary>Starts a server on a free loopback port with the given settings (tests, benchmarks); returns it and its address.</summary>
    public static Task<(WebApplication App, Uri Address)> StartOnLoopbackAsync(IDictionary<string, string?> settings, int port = 0) =>
        LoopbackHost.StartAsync((args, configure) => Build(args, configure), settings, port);
}
