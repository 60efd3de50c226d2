using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Uld.Web;

/// <summary>Starts a web application on a free loopback port with in-memory settings (tests, benchmarks, quickstart).</summary>
public static class LoopbackHost
{
    public static async Task<(WebApplication App, Uri Address)> StartAsync(
        Func<string[], Action<WebApplicationBuilder>, WebApplication> build, IDictionary<string, string?> settings, int port = 0)
    {
        var app = build(["--urls", $"http://127.0.0.1:{port}"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }
}
