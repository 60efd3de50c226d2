using Microsoft.Extensions.Configuration.Memory;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer;

/// <summary>
/// Logging defaults: ASP.NET Core's per-request lines at Warning (health probes every few seconds would otherwise
/// bury the one line per completion), and <c>--log-format simple|json|systemd</c> as a short form of
/// <c>Logging:Console:FormatterName</c> for log collectors that want JSON.
/// </summary>
public static class ServerLogging
{
    private static readonly string[] Formats = ["simple", "json", "systemd"];

    public static void Configure(WebApplicationBuilder builder, string[] args)
    {
        // Lowest precedence: appsettings, environment and command line still override it.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
        });
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--log-format"] = "Logging:Console:FormatterName" });
        if (builder.Configuration["Logging:Console:FormatterName"] is { } format && !Formats.Contains(format))
            throw new DeploymentConfigurationException($"--log-format (Logging:Console:FormatterName) must be one of {string.Join(", ", Formats)}; got \"{format}\".");
    }
}
