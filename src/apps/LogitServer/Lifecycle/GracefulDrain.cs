using Microsoft.Extensions.Options;
using Uld.Web;

namespace Uld.LogitServer.Lifecycle;

/// <summary>Wires the drain into the LogitServer (docs/DESIGN.md, *Scale*): one call on the builder, one on the app.</summary>
public static class GracefulDrain
{
    /// <summary>Call after every configuration source is added: the grace period is read here, once.</summary>
    public static void AddGracefulDrain(this WebApplicationBuilder builder)
    {
        DrainOptions options;
        try
        {
            options = StrictConfiguration.Bind<DrainOptions>(builder.Configuration.GetSection(DrainOptions.Section));
        }
        catch (InvalidOperationException e)
        {
            throw new StartupConfigurationException($"{DrainOptions.Section}: {e.Message}");
        }
        if (options.GracePeriodSeconds is <= 0 or > 3600)
            throw new StartupConfigurationException($"{DrainOptions.Section}:GracePeriodSeconds must be between 1 and 3600 (got {options.GracePeriodSeconds}).");
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton<ReplicaDrain>();
        builder.Services.AddHostedService<DrainOnShutdown>();
        // The host's whole stop budget is the grace period: Kestrel and the schedulers get what the drain left of it.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(options.GracePeriodSeconds));
    }

    /// <summary>Right after the error middleware, ahead of every endpoint.</summary>
    public static void UseGracefulDrain(this WebApplication app) => app.UseMiddleware<DrainMiddleware>();
}
