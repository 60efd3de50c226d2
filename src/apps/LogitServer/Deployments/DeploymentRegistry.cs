using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;
using Uld.Inference.Weights;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments;

/// <summary>Thrown when a deployment's settings or model files cannot be served; the message says which key and why.</summary>
public sealed class DeploymentConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Which deployment version serves a model name. The registry holds an immutable snapshot (name → version, each with
/// its own scheduler) that requests read without locks; loading, replacing and unloading build a new snapshot and
/// swap it in whole, after the new version is completely loaded and checked. A request leases the version it was
/// admitted to and keeps it until it ends; a version that left the snapshot drains once its last lease is gone
/// (docs/DESIGN.md, *Runtime deployments*). The configured deployments are loaded at start-up, before the server
/// listens; their settings were already checked by <see cref="LogitServerOptionsValidator"/>.
/// </summary>
public sealed class DeploymentRegistry : IHostedService, IDisposable
{
    /// <summary>One consistent view: the versions in listing order and by name.</summary>
    private sealed record Snapshot(IReadOnlyList<DeploymentVersion> Ordered, IReadOnlyDictionary<string, DeploymentVersion> ByName)
    {
        public static readonly Snapshot Empty = new([], new Dictionary<string, DeploymentVersion>(StringComparer.Ordinal));

        public Snapshot With(DeploymentVersion version)
        {
            var ordered = ByName.ContainsKey(version.Name)
                ? Ordered.Select(v => v.Name == version.Name ? version : v).ToList()
                : [.. Ordered, version];
            return new Snapshot(ordered, ordered.ToDictionary(v => v.Name, StringComparer.Ordinal));
        }

        public Snapshot Without(string name)
        {
            var ordered = Ordered.Where(v => v.Name != name).ToList();
            return new Snapshot(ordered, ordered.ToDictionary(v => v.Name, StringComparer.Ordinal));
        }
    }

    private readonly LogitServerOptions _options;
    private readonly ThreadingPlan _plan;
    private readonly ILogger<DeploymentRegistry> _logger;
    private readonly RuntimeDeploymentsFile? _file;
    /// <summary>Loads, replacements and unloads run one at a time: each builds on the snapshot the previous one left.</summary>
    private readonly SemaphoreSlim _changes = new(1, 1);
    /// <summary>Versions out of the snapshot that requests still hold: shutdown drains their schedulers too.</summary>
    private readonly ConcurrentDictionary<DeploymentVersion, byte> _retired = new();
    /// <summary>Retired versions no request holds, draining and releasing their sessions: shutdown waits for them.</summary>
    private readonly ConcurrentDictionary<DeploymentVersion, Task> _draining = new();
    private volatile Snapshot _snapshot = Snapshot.Empty;

    /// <param name="file">Where admin API changes are recorded (<see cref="LogitServerOptions.RuntimeDeploymentsFile"/>); null: nowhere.</param>
    public DeploymentRegistry(IOptions<LogitServerOptions> options, ThreadingPlan plan, ILogger<DeploymentRegistry> logger, RuntimeDeploymentsFile? file = null)
    {
        (_options, _plan, _logger, _file) = (options.Value, plan, logger, file);
        plan.Log(logger);
        var shared = SharedWeights.Plan(DeploymentLoader.ModelFiles(_options.Deployments, _options.AllowsInPlaceKvCache));
        Sessions = new ModelSessionCache(shared);
        Models = new VerifiedModels(verifyHashes: !_options.SkipHashCheck, logger);
        if (shared.Count > 0)
            logger.LogInformation("Weights shared between model files: {Tensors} tensors, {MiB} MiB loaded once instead of twice or more", shared.Count, shared.SavedBytes >> 20);
        try
        {
            foreach (var d in _options.Deployments)
            {
                var version = LoadVersion(d, number: 1);
                _snapshot = _snapshot.With(version);
                logger.LogInformation("Deployment {Deployment} ready: {Kind}, vocabulary {Vocab}, context {Context}, version {Version}, loaded in {LoadSeconds:F2} s",
                    d.Name, version.Deployment.Kind.Name, version.Deployment.Tokenizer.VocabSize, version.Deployment.ContextLength, version.Version, version.LoadSeconds);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The sessions the deployments share.</summary>
    public ModelSessionCache Sessions { get; }

    /// <summary>The model directories the deployments opened, each verified once.</summary>
    public VerifiedModels Models { get; }

    /// <summary>The deployments served now, in listing order.</summary>
    public IReadOnlyCollection<Deployment> All => _snapshot.Ordered.Select(v => v.Deployment).ToList();

    /// <summary>The versions served now, in listing order.</summary>
    public IReadOnlyList<DeploymentVersion> Versions => _snapshot.Ordered;

    /// <summary>The version serving <paramref name="name"/> now, if any.</summary>
    public DeploymentVersion? Find(string name) => _snapshot.ByName.GetValueOrDefault(name);

    /// <summary>
    /// The deployment a request's <c>model</c> names, held for the request (dispose the lease when it ends): 400 when
    /// the name is missing, 404 when nothing is called that.
    /// </summary>
    public DeploymentLease Acquire(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) throw OpenAiException.InvalidRequest("'model' is required.", "model");
        while (true)
        {
            var version = _snapshot.ByName.GetValueOrDefault(model) ?? throw OpenAiException.ModelNotFound(model);
            // Null only when the version was retired and released between the two reads: the snapshot has moved on.
            if (version.TryLease() is { } lease) return lease;
        }
    }

    /// <summary>The deployment <paramref name="model"/> names now, without holding it: for what needs only its tokenizer or settings.</summary>
    public Deployment Resolve(string? model)
    {
        using var lease = Acquire(model);
        return lease.Deployment;
    }

    /// <summary>
    /// Loads <paramref name="d"/> and, once it is loaded, checked and recorded in the runtime deployments file, swaps it
    /// in: as version 1 of a new name or the next version of an existing one, whose requests finish on the old version.
    /// A failure leaves the snapshot (and the file) as it was.
    /// </summary>
    /// <returns>The new version and whether the name is new.</returns>
    public async Task<(DeploymentVersion Version, bool Created)> PutAsync(DeploymentOptions d, CancellationToken cancellationToken)
    {
        if (LogitServerOptionsValidator.DeploymentProblem(d) is { } problem) throw new DeploymentConfigurationException(problem);
        await _changes.WaitAsync(cancellationToken);
        try
        {
            var old = _snapshot.ByName.GetValueOrDefault(d.Name);
            DeploymentVersion version;
            try
            {
                // Loading takes seconds; it runs off the request thread and is not abandoned half-way if the caller leaves.
                version = await Task.Run(() => LoadVersion(d, (old?.Version ?? 0) + 1), CancellationToken.None);
            }
            catch (Exception e)
            {
                _logger.LogWarning("Deployment {Deployment} not loaded ({Problem}); {Serving}", d.Name, e.Message,
                    old is null ? "nothing is served under that name" : $"version {old.Version} keeps serving");
                throw;
            }
            try
            {
                _file?.RecordPut(version.Spec);
            }
            catch
            {
                version.Retire(); // never served: it drains at once and releases its sessions
                throw;
            }
            _snapshot = _snapshot.With(version);
            Retire(old);
            _logger.LogInformation("Deployment {Deployment} {Action}: version {Version} ({Kind}) loaded in {LoadSeconds:F2} s",
                d.Name, old is null ? "loaded" : "replaced", version.Version, version.Deployment.Kind.Name, version.LoadSeconds);
            return (version, old is null);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Takes <paramref name="name"/> out of the snapshot (running requests finish on it); false when nothing is called that.</summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            if (_snapshot.ByName.GetValueOrDefault(name) is not { } old) return false;
            _file?.RecordRemove(name);
            _snapshot = _snapshot.Without(name);
            Retire(old);
            _logger.LogInformation("Deployment {Deployment} unloaded: version {Version} drains and is released when its running requests end", name, old.Version);
            return true;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Drops the snapshot's hold on a version that has just left it; it drains once its requests end.</summary>
    private void Retire(DeploymentVersion? version)
    {
        if (version is null) return;
        _retired[version] = 0;
        version.Retire();
    }

    private DeploymentVersion LoadVersion(DeploymentOptions d, int number)
    {
        var started = Stopwatch.GetTimestamp();
        var loaded = DeploymentLoader.Load(d, _options, _plan, Sessions, Models);
        BatchScheduler scheduler;
        try
        {
            scheduler = new BatchScheduler(loaded.Deployment, _options, _plan, _logger);
        }
        catch
        {
            loaded.Deployment.Dispose();
            throw;
        }
        return new DeploymentVersion(loaded, scheduler, number, DeploymentSpec.Write(d), DateTimeOffset.UtcNow,
            Stopwatch.GetElapsedTime(started).TotalSeconds, OnReleased);
    }

    /// <summary>A retired version no request holds any more: its scheduler finishes what it still has, then its sessions are released.</summary>
    private void OnReleased(DeploymentVersion version)
    {
        // Registered before it starts, so that shutdown sees it even if it has not run yet.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _draining[version] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await version.Scheduler.DrainAsync();
                version.Scheduler.Dispose();
                version.Deployment.Dispose();
                _logger.LogInformation("Deployment {Deployment} version {Version} drained; its sessions are released", version.Name, version.Version);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Releasing deployment {Deployment} version {Version} failed", version.Name, version.Version);
            }
            finally
            {
                _draining.TryRemove(version, out _);
                _retired.TryRemove(version, out _);
                done.TrySetResult();
            }
        });
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Shutdown: every scheduler, of the snapshot's versions and of retired ones, stops admitting and finishes the generations it holds.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var versions = _snapshot.Ordered.Concat(_retired.Keys).Distinct().ToList();
        _logger.LogInformation("Draining {Count} deployments", versions.Count);
        try
        {
            await Task.WhenAll(versions.Select(v => v.Scheduler.DrainAsync()).Concat(_draining.Values)).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The grace period is over (Lifecycle/DrainOnShutdown waited for it): the process stops with what is left.
            _logger.LogWarning("Shutdown grace period over before every deployment finished its generations");
        }
    }

    /// <summary>After shutdown: every version's scheduler and sessions, whoever still holds them (disposing twice is harmless).</summary>
    public void Dispose()
    {
        var versions = _snapshot.Ordered.Concat(_retired.Keys).Distinct().ToList();
        _snapshot = Snapshot.Empty;
        foreach (var v in versions)
        {
            v.Scheduler.Dispose();
            v.Deployment.Dispose();
        }
        Task.WaitAll([.. _draining.Values], TimeSpan.FromSeconds(30));
        Sessions.Dispose();
    }
}
