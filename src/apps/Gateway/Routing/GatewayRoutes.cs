namespace Uld.Gateway.Routing;

public enum RouteKind
{
    /// <summary>Served by the gateway itself, without an API key (/health, /metrics).</summary>
    Public,
    /// <summary>GET /v1/models, answered by the gateway from the replicas' listings.</summary>
    Models,
    /// <summary>A request whose body names the model: admitted by policy, then forwarded to that model's cluster.</summary>
    Forwarded,
    /// <summary>POST /v1/compare: one chat request admitted and forwarded once per model.</summary>
    Compare,
}

/// <param name="Path">The canonical path, the only spelling a replica ever receives.</param>
/// <param name="Generates">Whether the route generates tokens, so the α policy is pinned in the forwarded body.</param>
public sealed record GatewayRoute(string Path, string Method, RouteKind Kind, bool Generates = false);

/// <summary>
/// Everything the gateway answers. A request is matched here after <see cref="PathCanonicalizer"/> and nowhere else;
/// what is not in this table is a 404 and never reaches a replica.
/// </summary>
public static class GatewayRoutes
{
    public static readonly GatewayRoute Health = new("/health", HttpMethods.Get, RouteKind.Public);
    public static readonly GatewayRoute Metrics = new("/metrics", HttpMethods.Get, RouteKind.Public);
    public static readonly GatewayRoute Models = new("/v1/models", HttpMethods.Get, RouteKind.Models);
    public static readonly GatewayRoute ChatCompletions = new("/v1/chat/completions", HttpMethods.Post, RouteKind.Forwarded, Generates: true);
    public static readonly GatewayRoute Completions = new("/v1/completions", HttpMethods.Post, RouteKind.Forwarded, Generates: true);
    public static readonly GatewayRoute Tokenize = new("/tokenize", HttpMethods.Post, RouteKind.Forwarded);
    public static readonly GatewayRoute Detokenize = new("/detokenize", HttpMethods.Post, RouteKind.Forwarded);
    public static readonly GatewayRoute Compare = new("/v1/compare", HttpMethods.Post, RouteKind.Compare);

    public static readonly IReadOnlyList<GatewayRoute> All = [Health, Metrics, Models, ChatCompletions, Completions, Tokenize, Detokenize, Compare];

    private static readonly Dictionary<string, GatewayRoute> ByPath = All.ToDictionary(r => r.Path, StringComparer.Ordinal);

    public static GatewayRoute? Find(string canonicalPath) => ByPath.GetValueOrDefault(canonicalPath);

    public static IEnumerable<GatewayRoute> Forwarded => All.Where(r => r.Kind == RouteKind.Forwarded);
}
