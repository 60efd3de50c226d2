using Microsoft.Extensions.Options;
using Prometheus;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Admission;
using Uld.LogitServer.Api;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;
using Uld.LogitServer.Lifecycle;
using Uld.Web;

namespace Uld.LogitServer;

/// <summary>Builds the LogitServer web application; Program.cs runs it, tests host it on loopback.</summary>
public static class LogitServerApp
{
    /// <summary>Requests larger than this are refused with 413.</summary>
    public const long MaxRequestBodyBytes = 4 * 1024 * 1024;

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        ConfigFileArgument.AddTo(builder.Configuration); // deployments (and other settings), e.g. models/deployments.json
        ServerLogging.Configure(builder, args);
        // A misspelt key (say "AlphaMn") would otherwise leave the default floor in place without a word.
        builder.Services.AddOptions<LogitServerOptions>()
            .Bind(builder.Configuration.GetSection(LogitServerOptions.Section), binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LogitServerOptions>, LogitServerOptionsValidator>();
        // What the admin API changed last time applies over the configured deployments before they are checked and loaded.
        builder.Services.AddSingleton<RuntimeDeploymentsFile>();
        builder.Services.AddSingleton<IPostConfigureOptions<LogitServerOptions>>(sp => sp.GetRequiredService<RuntimeDeploymentsFile>());
        builder.Services.AddSingleton(sp => ThreadingPlan.For(sp.GetRequiredService<IOptions<LogitServerOptions>>().Value, Environment.ProcessorCount));
        builder.Services.AddSingleton<DeploymentRegistry>();
        builder.Services.AddSingleton<RequestAdmission>();
        builder.Services.AddSingleton<CompletionLog>();
        // Stopping drains every deployment's scheduler, so in-flight generations finish.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeploymentRegistry>());
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        configure?.Invoke(builder);
        builder.AddMetricsPort();
        builder.AddGracefulDrain();

        var app = builder.Build();
        app.UseMiddleware<OpenAiErrorMiddleware>();
        app.UseGracefulDrain();
        app.UseHttpMetrics();

        app.MapPost("/v1/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        app.MapPost("/v1/completions", CompletionsEndpoint.HandleAsync);
        app.MapPost("/tokenize", TokenizeEndpoint.TokenizeAsync);
        app.MapPost("/detokenize", TokenizeEndpoint.DetokenizeAsync);
        app.MapGet("/v1/models", ModelsEndpoint.List);
        app.MapGet("/health", (DeploymentRegistry registry) => Results.Json(new { status = "ok", deployments = registry.All.Select(d => d.Name) }));
        app.MapMetricsUnlessSeparate();
        app.MapFallback(context => OpenAiErrorMiddleware.WriteAsync(context,
            new OpenAiException(404, $"Unknown path {context.Request.Method} {context.Request.Path}.", "invalid_request_error", null, "unknown_url")));

        // Check the settings and load the deployments now, so that a bad configuration fails start-up, not the first request.
        LogitServerOptions options;
        try
        {
            options = app.Services.GetRequiredService<IOptions<LogitServerOptions>>().Value;
        }
        catch (OptionsValidationException e)
        {
            throw new DeploymentConfigurationException(e.Message, e);
        }
        catch (InvalidOperationException e)
        {
            // Binding: a key no setting has, or a value of the wrong type.
            var section = builder.Configuration.GetSection(LogitServerOptions.Section);
            throw new DeploymentConfigurationException(UnknownSettings.FirstUnknownKey(section, typeof(LogitServerOptions)) is { } key
                ? $"unknown setting {key}: no such option (check its spelling and nesting)."
                : $"{LogitServerOptions.Section} configuration: {BindingProblem(e)}", e);
        }
        app.Services.GetRequiredService<DeploymentRegistry>();
        // Only with an admin key: without one the routes do not exist (404), not merely refuse.
        AdminEndpoints.Map(app, options);
        return app;
    }

    /// <summary>
    /// The binder wraps the useful part ("Failed to convert configuration value at 'LogitServer:Deployments:0:Kind' …",
    /// then why) in a generic outer exception.
    /// </summary>
    private static string BindingProblem(Exception e)
    {
        while (e.InnerException is InvalidOperationException) e = e.InnerException;
        var problem = e.InnerException is { } cause ? $"{e.Message} ({cause.Message})" : e.Message;
        return problem.ReplaceLineEndings(" ");
    }

    /// <summary>Starts a server on a free loopback port with the given settings (tests, benchmarks); returns it and its address.</summary>
    public static Task<(WebApplication App, Uri Address)> StartOnLoopbackAsync(IDictionary<string, string?> settings, int port = 0) =>
        LoopbackHost.StartAsync((args, configure) => Build(args, configure), settings, port);
}
