using Microsoft.Extensions.Configuration.Memory;

namespace Uld.Gateway;

/// <summary>
/// Log defaults that hold wherever the gateway is started from (appsettings.json is read from the working directory,
/// which is rarely the install directory): per-request framework, proxy and HttpClient lines only at Warning, so the
/// one line per model request (<see cref="Policy.CompletionLog"/>) is what a log shows. Any configuration source
/// overrides them; <c>--log-format json</c> (or Logging:Console:FormatterName=json) writes one JSON object per line.
/// </summary>
public static class GatewayLogging
{
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Yarp"] = "Warning",
        // A failed active probe is logged by YARP with its exception's stack trace, every probe, for every replica that is
        // down (or still starting); DeploymentPolicyRegistry says the same once per outage, in one line.
        ["Logging:LogLevel:Yarp.ReverseProxy.Health"] = "Error",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
    };

    public static void Configure(WebApplicationBuilder builder)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        if (string.Equals(builder.Configuration["log-format"], "json", StringComparison.OrdinalIgnoreCase)) builder.Logging.AddJsonConsole();
    }
}
