using Uld.Contracts.OpenAi;
using Uld.Forget.Api;
using Uld.Forget.Audit;
using Uld.Forget.Configuration;
using Uld.Forget.Deploy;
using Uld.Forget.Gate;
using Uld.Forget.Store;
using Uld.Forget.Worker;
using Uld.Web;
using Uld.Web.Admin;

namespace Uld.Forget;

/// <summary>
/// Builds the forget-request service: OpenAI-shaped errors → admin key → the request API; a background worker takes
/// the requests one at a time in submission order (docs/FORGET-REQUESTS.md).
/// </summary>
public static class ForgetApp
{
    /// <summary>The HttpClient that talks to LogitServer replicas (admin API, model list).</summary>
    public const string LogitServerClient = "logitserver";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        ConfigFileArgument.AddTo(builder.Configuration); // the Forget section (and other settings)
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);

        var options = ResolvePaths(StrictConfiguration.Bind<ForgetOptions>(builder.Configuration.GetSection(ForgetOptions.Section)));
        ForgetOptionsValidator.ThrowIfInvalid(options);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new ForgetRequestStore(options.DataDirectory, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<AuditWriter>();
        builder.Services.AddSingleton(new AllowedDataPaths(options.AllowedDataRoots, options.MaxDataFileBytes));
        builder.Services.AddSingleton<DataSetReader>();
        builder.Services.AddSingleton<SubmissionReader>();
        builder.Services.AddSingleton<WorkSignal>();
        builder.Services.AddHttpClient(LogitServerClient, c => c.Timeout = options.AdminTimeout);
        builder.Services.AddSingleton(sp => new RuntimeDeploymentsClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(LogitServerClient), options.LogitServerAdminKey));
        builder.Services.AddSingleton<TrainingStep>();
        builder.Services.AddSingleton<GateEvaluation>();
        builder.Services.AddSingleton<GateStep>();
        builder.Services.AddSingleton<DeployStep>();
        if (options.RunWorker) builder.Services.AddHostedService<ForgetWorker>();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);

        var app = builder.Build();
        var audit = app.Services.GetRequiredService<AuditWriter>();
        app.Services.GetRequiredService<ForgetRequestStore>().Changed += audit.Write;
        app.UseMiddleware<OpenAiErrorMiddleware>();
        app.UseMiddleware<AdminKeyMiddleware>();
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        ForgetRequestsEndpoints.Map(app);
        // "{*path}" rather than the default fallback pattern, which leaves out paths whose last segment has a dot. A known
        // path with another method lands here too (the fallback takes every method): that is a 405, not a 404.
        app.MapFallback("{*path}", context => throw (ForgetRequestsEndpoints.IsKnownPath(context.Request.Path)
            ? new OpenAiException(405, $"{context.Request.Method} is not allowed on {context.Request.Path}.", "invalid_request_error", null, "method_not_allowed")
            : new OpenAiException(404, $"Unknown path {context.Request.Method} {context.Request.Path}.", "invalid_request_error", null, "unknown_url")));
        return app;
    }

    /// <summary>Relative paths in the configuration are relative to the working directory, where the service started.</summary>
    private static ForgetOptions ResolvePaths(ForgetOptions o)
    {
        static string Full(string path) => path.Length == 0 ? path : Path.GetFullPath(path);
        o.DataDirectory = Full(o.DataDirectory);
        foreach (var d in o.Deployments.Values)
        {
            d.TargetModel = Full(d.TargetModel);
            d.HoldoutFile = Full(d.HoldoutFile);
            d.RetainFile = d.RetainFile is null ? null : Full(d.RetainFile);
            d.RetainSampleFile = d.RetainSampleFile is null ? null : Full(d.RetainSampleFile);
        }
        return o;
    }

    public static Task<(WebApplication App, Uri Address)> StartOnLoopbackAsync(IDictionary<string, string?> settings, int port = 0) =>
        LoopbackHost.StartAsync((args, configure) => Build(args, configure), settings, port);
}
