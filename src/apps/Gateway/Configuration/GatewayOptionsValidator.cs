using Microsoft.Extensions.Options;
using Uld.Web;

namespace Uld.Gateway.Configuration;

/// <summary>
/// Checks <see cref="GatewayOptions"/> as a whole at start-up: every problem is named with its configuration key, so
/// a gateway never starts with a policy that silently differs from the one written down.
/// </summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = Problems(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Throws one exception whose message lists every problem (start-up prints it as one line).</summary>
    public static void ThrowIfInvalid(GatewayOptions options)
    {
        var errors = Problems(options).ToList();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
    }

    private static IEnumerable<string> Problems(GatewayOptions o)
    {
        const string g = GatewayOptions.Section;
        if (o.Clusters.Count == 0) yield return $"{g}:Clusters is empty; configure at least one cluster of LogitServer replicas";
        if (o.MaxRequestBodyBytes <= 0) yield return $"{g}:MaxRequestBodyBytes must be positive";
        if (o.ActivityTimeout <= TimeSpan.Zero) yield return $"{g}:ActivityTimeout must be positive";
        if (o.HealthCheckInterval <= TimeSpan.Zero) yield return $"{g}:HealthCheckInterval must be positive";
        if (o.DnsRefreshInterval <= TimeSpan.Zero) yield return $"{g}:DnsRefreshInterval must be positive";

        var clusterByModel = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, cluster) in o.Clusters)
        {
            var at = $"{g}:Clusters:{id}";
            if (cluster.Replicas.Count == 0 && cluster.ReplicaService is null) yield return $"{at}: neither Replicas nor ReplicaService is set; configure one";
            if (cluster.Replicas.Count > 0 && cluster.ReplicaService is not null) yield return $"{at}: both Replicas and ReplicaService are set; configure one";
            if (cluster.ReplicaService is { } service && !IsServiceUrl(service))
                yield return $"{at}:ReplicaService: '{service}' is not an http(s) URL of a host name and port (e.g. http://uld-logitserver-replicas:8080)";
            if (cluster.Models.Count == 0) yield return $"{at}:Models is empty";
            foreach (var replica in cluster.Replicas)
            {
                if (!Uri.TryCreate(replica, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    yield return $"{at}:Replicas: '{replica}' is not an http(s) URL";
            }
            foreach (var duplicate in Duplicates(cluster.Replicas, StringComparer.OrdinalIgnoreCase)) yield return $"{at}:Replicas lists '{duplicate}' twice";
            foreach (var model in cluster.Models)
            {
                if (string.IsNullOrWhiteSpace(model)) yield return $"{at}:Models has an empty name";
                else if (!clusterByModel.TryAdd(model, id)) yield return $"model '{model}' is served by two clusters ('{clusterByModel[model]}' and '{id}')";
            }
        }

        foreach (var (name, experiment) in o.Experiments)
        {
            var at = $"{g}:Experiments:{name}";
            if (clusterByModel.ContainsKey(name)) yield return $"{at}: an experiment may not have the name of a deployment";
            if (experiment.Variants.Count == 0) yield return $"{at}:Variants is empty";
            foreach (var duplicate in Duplicates(experiment.Variants.Select(v => v.Name), StringComparer.Ordinal)) yield return $"{at}: variant '{duplicate}' is named twice";
            for (var i = 0; i < experiment.Variants.Count; i++)
            {
                var v = experiment.Variants[i];
                if (string.IsNullOrWhiteSpace(v.Name)) yield return $"{at}:Variants:{i}:Name is empty";
                if (v.Weight <= 0) yield return $"{at}:Variants:{i}:Weight must be positive (got {v.Weight})";
                if (!clusterByModel.ContainsKey(v.Model)) yield return $"{at}:Variants:{i}:Model: no cluster serves '{v.Model}'";
            }
        }

        foreach (var duplicate in Duplicates(o.ApiKeys.Select(k => k.Name), StringComparer.Ordinal)) yield return $"{g}:ApiKeys: the name '{duplicate}' is used twice";
        foreach (var duplicate in Duplicates(o.ApiKeys.Select(k => k.Sha256), StringComparer.OrdinalIgnoreCase)) yield return $"{g}:ApiKeys: the hash '{duplicate}' is configured twice";
        for (var i = 0; i < o.ApiKeys.Count; i++)
        {
            var key = o.ApiKeys[i];
            var at = $"{g}:ApiKeys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name)) yield return $"{at}:Name is empty";
            if (!KeyHash.IsSha256Hex(key.Sha256)) yield return $"{at}:Sha256 must be 64 hex digits (the hash of the key, never the key)";
            if (key.RequestsPerMinute <= 0) yield return $"{at}:RequestsPerMinute must be positive (got {key.RequestsPerMinute})";
            if (key.AlphaMin is { } min && (!double.IsFinite(min) || min < 0)) yield return $"{at}:AlphaMin must be a finite number ≥ 0";
            if (key.AlphaMax is { } max && (!double.IsFinite(max) || max < 0)) yield return $"{at}:AlphaMax must be a finite number ≥ 0";
            if (key is { AlphaMin: { } lo, AlphaMax: { } hi } && lo > hi) yield return $"{at}: AlphaMin ({lo}) is above AlphaMax ({hi})";
            foreach (var model in key.AllowedModels ?? [])
            {
                if (model != "*" && !clusterByModel.ContainsKey(model) && !o.Experiments.ContainsKey(model))
                    yield return $"{at}:AllowedModels: '{model}' is neither a routed deployment nor an experiment";
            }
        }
    }

    /// <summary>http(s)://host[:port][/], nothing else: each resolved address replaces the host, the rest is kept as is.</summary>
    private static bool IsServiceUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
        && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;

    private static IEnumerable<string> Duplicates(IEnumerable<string> values, StringComparer comparer) =>
        values.GroupBy(v => v, comparer).Where(group => group.Count() > 1).Select(group => group.Key);
}
