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
        Func<string[], Action<WebApplicationBuilder>, WebApplication> build, IDictionary<string, string?> settings, int port = 0, string host = "127.0.0.1")
    {
        // Any 127.x.y.z is loopback on Linux: replicas on 127.0.0.1 and 127.0.0.2 can share a port, as pods behind one name do.
        var app = build(["--urls", $"http://{host}:{port}"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }
}
