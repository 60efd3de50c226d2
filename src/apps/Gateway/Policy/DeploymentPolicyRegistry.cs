using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;
using Yarp.ReverseProxy;

namespace Uld.Gateway.Policy;

/// <summary>What the replicas of a cluster last said about one deployment.</summary>
public enum PolicyState { Known, Unknown, Conflict }

/// <summary>
/// Reads every replica's (YARP's destinations of the cluster) <c>GET /v1/models</c> at start-up and then at the health-probe interval, and keeps, per
/// replica, the α policy and model card of each deployment its cluster routes. A deployment's policy is known only when
/// every replica that answered lists it with the same policy; otherwise requests for it are refused (fail closed).
/// A replica that stops answering drops out until it answers again. The first read happens before the gateway listens
/// (at most the 2 s listing timeout when a replica is down).
/// </summary>
public sealed class DeploymentPolicyRegistry(IOptions<GatewayOptions> options, IProxyStateLookup proxyState, IHttpClientFactory httpClients,
    ILogger<DeploymentPolicyRegistry> logger)
    : BackgroundService
{
    public const string HttpClientName = "replica-listings";

    private sealed record Listing(string Model, DeploymentPolicy? Policy, ModelCard Card);

    /// <summary>Per cluster, per replica address: the deployments that replica listed (by name).</summary>
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, IReadOnlyDictionary<string, Listing>>> _listings = new();

    /// <summary>Replicas whose last listing failed, so that each outage is logged once, as one line, not per probe.</summary>
    private readonly ConcurrentDictionary<string, bool> _unreachable = new();

    /// <summary>The policy of <paramref name="deployment"/> or an OpenAI 503 saying why it cannot be trusted now.</summary>
    public DeploymentPolicy Resolve(string cluster, string deployment)
    {
        var (state, policy, _) = Lookup(cluster, deployment);
        return state switch
        {
            PolicyState.Known => policy!,
            PolicyState.Conflict => throw new OpenAiException(503,
                $"The replicas serving '{deployment}' disagree on its α policy; it is not served until they agree.", "server_error", null, "policy_conflict")
            { RetryAfterSeconds = 5 },
            _ => throw new OpenAiException(503,
                $"The α policy of '{deployment}' is not known yet (no replica has listed it); retry shortly.", "server_error", null, "policy_unknown")
            { RetryAfterSeconds = 2 },
        };
    }

    public (PolicyState State, DeploymentPolicy? Policy, ModelCard? Card) Lookup(string cluster, string deployment)
    {
        var replicas = _listings.GetValueOrDefault(cluster)?.Values.ToList() ?? [];
        if (replicas.Count == 0) return (PolicyState.Unknown, null, null);
        var listings = replicas.Select(r => r.GetValueOrDefault(deployment)).ToList();
        if (listings.Any(l => l?.Policy is null)) return (PolicyState.Conflict, null, null); // missing on a replica, or unreadable
        return listings.Select(l => l!.Policy).Distinct().Count() == 1
            ? (PolicyState.Known, listings[0]!.Policy, listings[0]!.Card)
            : (PolicyState.Conflict, null, null);
    }

    /// <summary>Reads the replicas once before the gateway starts listening, so it does not begin by refusing everything.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAllAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HealthCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken)) await RefreshAllAsync(stoppingToken);
    }

    private Task RefreshAllAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(options.Value.Clusters.SelectMany(c => CurrentReplicas(c.Key).Select(r => RefreshAsync(c.Key, c.Value, r, cancellationToken))));

    /// <summary>
    /// The cluster's replicas as YARP has them now (listed, or resolved from a replica service); a replica that left
    /// the pool (its address no longer resolves) stops vouching for any policy.
    /// </summary>
    private IReadOnlyList<string> CurrentReplicas(string clusterId)
    {
        var current = proxyState.TryGetCluster(clusterId, out var cluster)
            ? cluster.Destinations.Values.Select(d => d.Model.Config.Address).ToList()
            : [];
        if (_listings.TryGetValue(clusterId, out var listed))
        {
            foreach (var gone in listed.Keys.Except(current, StringComparer.Ordinal)) listed.TryRemove(gone, out _);
        }
        return current;
    }

    private async Task RefreshAsync(string clusterId, ClusterOptions cluster, string replica, CancellationToken cancellationToken)
    {
        var replicas = _listings.GetOrAdd(clusterId, _ => new());
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            // A listing that is not a ModelList (a card without a required bound included) is not trusted at all.
            var list = OpenAiWire.Read<ModelList>(await http.GetStringAsync(new Uri(new Uri(replica), "/v1/models"), cancellationToken));
            var listings = list.Data
                .Where(card => card is not null && cluster.Models.Contains(card.Id))
                .Select(card => new Listing(card.Id, DeploymentPolicy.FromCard(card), card))
                .GroupBy(l => l.Model)
                .ToDictionary(g => g.Key, g => g.Count() == 1 ? g.First() : g.First() with { Policy = null }); // listed twice: not trusted
            if (_unreachable.TryRemove(replica, out _)) logger.LogInformation("Replica {Replica} of cluster {Cluster} answers again", replica, clusterId);
            if (replicas.TryGetValue(replica, out var previous) && SamePolicies(previous, listings)) return;
            replicas[replica] = listings;
            foreach (var model in cluster.Models)
            {
                var (state, _, _) = Lookup(clusterId, model);
                if (state != PolicyState.Known) logger.LogWarning("Deployment {Model} of cluster {Cluster}: α policy {State} after {Replica} listed its models", model, clusterId, state, replica);
            }
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Unreachable or answering nonsense: its (possibly changed) policy is unknown, so it no longer vouches for any.
            replicas.TryRemove(replica, out _);
            if (_unreachable.TryAdd(replica, true))
                logger.LogWarning("Replica {Replica} of cluster {Cluster} does not answer /v1/models ({Reason}); it serves nothing until it does", replica, clusterId,
                    e.Message.ReplaceLineEndings(" "));
        }
    }

    private static bool SamePolicies(IReadOnlyDictionary<string, Listing> a, IReadOnlyDictionary<string, Listing> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var other) && Equals(kv.Value.Policy, other.Policy));
}
