using Microsoft.Extensions.Options;

namespace Uld.Gateway.Routing;

/// <summary>Which cluster serves which deployment, and which names are experiments (validated by GatewayOptionsValidator).</summary>
public sealed class ModelCatalog(IOptions<GatewayOptions> options)
{
    private readonly Dictionary<string, string> _clusterByDeployment = options.Value.Clusters
        .SelectMany(c => c.Value.Models.Select(model => (model, cluster: c.Key)))
        .ToDictionary(x => x.model, x => x.cluster, StringComparer.Ordinal);

    public IReadOnlyDictionary<string, ExperimentOptions> Experiments { get; } = options.Value.Experiments;
    public IReadOnlyCollection<string> Deployments => _clusterByDeployment.Keys;

    public string? ClusterFor(string deployment) => _clusterByDeployment.GetValueOrDefault(deployment);
}
