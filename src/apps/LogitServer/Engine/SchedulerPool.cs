using Microsoft.Extensions.Options;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>One <see cref="BatchScheduler"/> per deployment; drains them all on shutdown so in-flight generations finish.</summary>
public sealed class SchedulerPool : IHostedService, IDisposable
{
    private readonly Dictionary<string, BatchScheduler> _schedulers;
    private readonly ILogger<SchedulerPool> _logger;

    public SchedulerPool(DeploymentRegistry registry, IOptions<LogitServerOptions> options, ThreadingPlan plan, ILogger<SchedulerPool> logger)
    {
        _logger = logger;
        _schedulers = registry.All.ToDictionary(d => d.Name, d => new BatchScheduler(d, options.Value, plan, logger), StringComparer.Ordinal);
    }

    /// <summary>The scheduler that runs <paramref name="deployment"/> (every registered deployment has one).</summary>
    public BatchScheduler For(Deployment deployment) => _schedulers[deployment.Name];

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _logger.LogInformation("Draining {Count} deployments", _schedulers.Count);
        try
        {
            await Task.WhenAll(_schedulers.Values.Select(s => s.DrainAsync())).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The grace period is over (Lifecycle/DrainOnShutdown waited for it): the process stops with what is left.
            _logger.LogWarning("Shutdown grace period over before every deployment finished its generations");
        }
    }

    public void Dispose()
    {
        foreach (var s in _schedulers.Values) s.Dispose();
    }
}
