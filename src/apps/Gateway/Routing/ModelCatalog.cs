using Microsoft.Extensions.Options;

namespace Uld.Gateway.Routing;

/// <summary>Which cluster serves which deployment, and which names are experiments. Validated at start-up.</summary>
public sealed class ModelCatalog
{
    private readonly Dictionary<string, string> _clusterByDeployment = new(StringComparer.Ordinal);

    public ModelCatalog(IOptions<GatewayOptions> options)
    {
        var o = options.Value;
        if (o.Clusters.Count == 0) throw new InvalidOperationException("Gateway:Clusters is empty; configure at least one cluster of LogitServer replicas.");
        foreach (var (id, cluster) in o.Clusters)
        {
            if (cluster.Replicas.Count == 0) throw new InvalidOperationException($"cluster '{id}' has no Replicas.");
            foreach (var replica in cluster.Replicas)
            {
                if (!Uri.TryCreate(replica, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    throw new InvalidOperationException($"cluster '{id}': replica '{replica}' is not an http(s) URL.");
            }
            foreach (var model in cluster.Models)
            {
                if (!_clusterByDeployment.TryAdd(model, id))
                    throw new InvalidOperationException($"model '{model}' is served by two clusters ('{_clusterByDeployment[model]}' and '{id}').");
            }
        }
        Experiments = o.Experiments;
        foreach (var (name, experiment) in o.Experiments)
        {
            if (_clusterByDeployment.ContainsKey(name)) throw new InvalidOperationException($"experiment '{name}' has the name of a deployment.");
            if (experiment.Variants.Count == 0) throw new InvalidOperationException($"experiment '{name}' has no variants.");
            foreach (var v in experiment.Variants)
            {
                if (v.Weight <= 0) throw new InvalidOperationException($"experiment '{name}', variant '{v.Name}': Weight must be positive.");
                if (!_clusterByDeployment.ContainsKey(v.Model))
                    throw new InvalidOperationException($"experiment '{name}', variant '{v.Name}': no cluster serves model '{v.Model}'.");
            }
        }
    }

    public IReadOnlyDictionary<string, ExperimentOptions> Experiments { get; }
    public IReadOnlyCollection<string> Deployments => _clusterByDeployment.Keys;

    public string? ClusterFor(string deployment) => _clusterByDeployment.GetValueOrDefault(deployment);
}
