using Microsoft.Extensions.Options;

namespace Uld.LogitServer.Lifecycle;

/// <summary>
/// Turns the host's stop (SIGTERM, Ctrl-C, StopAsync) into a drain. ApplicationStopping stops admission at once; then,
/// before any service stops — Kestrel keeps listening, so readiness probes see "draining" and new requests get an
/// explicit 503 instead of a refused connection, and the schedulers keep stepping — it waits until every admitted
/// request has ended or the grace period is over. Only then do Kestrel and the schedulers stop.
/// </summary>
public sealed class DrainOnShutdown(ReplicaDrain drain, IHostApplicationLifetime lifetime, IOptions<DrainOptions> options, ILogger<DrainOnShutdown> logger)
    : IHostedLifecycleService
{
    private CancellationTokenRegistration _stopping;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(drain.Begin);
        return Task.CompletedTask;
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        drain.Begin();
        var grace = TimeSpan.FromSeconds(options.Value.GracePeriodSeconds);
        if (drain.InFlight > 0) logger.LogInformation("Draining: {Count} request(s) running, waiting up to {Grace} s for them", drain.InFlight, grace.TotalSeconds);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(grace);
        try
        {
            await drain.WhenIdleAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Drain: the grace period ended with {Count} request(s) still running; they are cut", drain.InFlight);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        return Task.CompletedTask;
    }
}
