namespace Uld.Gateway;

/// <summary>A pool of LogitServer replicas serving the same deployments.</summary>
public sealed class ClusterOptions
{
    /// <summary>Replica base addresses, e.g. http://10.0.0.5:8080.</summary>
    public List<string> Replicas { get; set; } = [];
    /// <summary>
    /// Instead of <see cref="Replicas"/>: one URL whose host name resolves to every replica, e.g. a Kubernetes headless
    /// Service (http://uld-logitserver-replicas:8080); each resolved address is a replica on the URL's scheme and port,
    /// re-resolved every <see cref="GatewayOptions.DnsRefreshInterval"/>.
    /// </summary>
    public string? ReplicaService { get; set; }
    /// <summary>Deployment names (client-facing <c>model</c>) these replicas serve.</summary>
    public List<string> Models { get; set; } = [];
}

public sealed class VariantOptions
{
    public string Name { get; set; } = "";
    /// <summary>The deployment this variant sends requests to.</summary>
    public string Model { get; set; } = "";
    public int Weight { get; set; } = 1;
}

/// <summary>An A/B experiment: clients name it as <c>model</c> and are assigned a variant, sticky per API key or user.</summary>
public sealed class ExperimentOptions
{
    public List<VariantOptions> Variants { get; set; } = [];
}

public sealed class ApiKeyOptions
{
    /// <summary>Who the key belongs to; used in logs, metrics and A/B assignment, never the secret itself.</summary>
    public string Name { get; set; } = "";
    /// <summary>Lowercase hex sha256 of the key. Keys are never stored in clear.</summary>
    public string Sha256 { get; set; } = "";
    /// <summary>Models (deployments or experiments) this key may use; unset (or containing "*") means all.</summary>
    public List<string>? AllowedModels { get; set; }

    public bool MayUse(string model) => AllowedModels is null || AllowedModels.Contains("*") || AllowedModels.Contains(model);
    /// <summary>The α range this key may request; null bounds leave the deployment's own policy in force.</summary>
    public double? AlphaMin { get; set; }
    public double? AlphaMax { get; set; }
    /// <summary>
    /// Whether the gateway lets this key send α below a deployment's floor (the replicas' <c>AlphaMin</c>, which keeps
    /// the unlearning in force); off by default. The replicas still refuse α below their own AlphaMin.
    /// </summary>
    public bool MayLowerAlphaBelowFloor { get; set; }
    public int RequestsPerMinute { get; set; } = 600;
}

public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    public Dictionary<string, ClusterOptions> Clusters { get; set; } = [];
    public Dictionary<string, ExperimentOptions> Experiments { get; set; } = [];
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];
    /// <summary>When false (local development), requests without a key are served as "anonymous".</summary>
    public bool RequireApiKey { get; set; } = true;
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
    /// <summary>Longest silence on a proxied response before it is cut; generations can be long.</summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>How often replicas are probed (/health) and their deployments' α policies re-read (/v1/models).</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>How often the clusters' <see cref="ClusterOptions.ReplicaService"/> names are resolved again.</summary>
    public TimeSpan DnsRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
}
