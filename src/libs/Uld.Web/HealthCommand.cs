using System.Net.Http;

namespace Uld.Web;

/// <summary>
/// <c>uld-logitserver health</c> / <c>uld-gateway health</c> / <c>uld-forget health</c>: asks the server running in this container for its own
/// <c>/health</c> and exits 0 (2xx) or 1 (anything else, or no answer), printing one line. Container health checks
/// call it, because the .NET runtime images have no curl or wget.
/// </summary>
public static class HealthCommand
{
    public const string Name = "health";
    public const int Healthy = 0;
    public const int Unhealthy = 1;

    /// <summary>How long the probe waits: below the 5 s a container health check allows.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    /// <summary>Runs the command when <paramref name="args"/> starts with it; otherwise returns null and the server starts.</summary>
    public static int? TryRun(string[] args)
    {
        if (args.Length == 0 || args[0] != Name) return null;
        Uri target;
        try
        {
            target = ProbeAddress(args[1..], Environment.GetEnvironmentVariable);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        var (code, line) = ProbeAsync(target).GetAwaiter().GetResult();
        (code == Healthy ? Console.Out : Console.Error).WriteLine(line);
        return code;
    }

    /// <summary>GETs <paramref name="health"/>: (0, "healthy: …") on a 2xx, else (1, why).</summary>
    public static async Task<(int Code, string Line)> ProbeAsync(Uri health)
    {
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(health);
            var body = (await response.Content.ReadAsStringAsync()).ReplaceLineEndings(" ");
            if (body.Length > 200) body = body[..200] + "…";
            return response.IsSuccessStatusCode
                ? (Healthy, $"healthy: {health} answered {(int)response.StatusCode}")
                : (Unhealthy, $"unhealthy: {health} answered {(int)response.StatusCode} {body}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (Unhealthy, $"unhealthy: {health} did not answer ({(e is TaskCanceledException ? $"no answer within {Timeout.TotalSeconds:0} s" : e.Message)})");
        }
    }

    /// <summary>
    /// Where this container's server listens, from the settings ASP.NET Core itself reads, first match wins:
    /// <c>--url URL</c> (the health URL's base), <c>--urls</c>, <c>ASPNETCORE_URLS</c>/<c>DOTNET_URLS</c> (first entry),
    /// <c>ASPNETCORE_HTTP_PORTS</c>/<c>DOTNET_HTTP_PORTS</c> (first port), else port 8080 (the images' port). A wildcard
    /// host (+, *, 0.0.0.0, [::]) is asked on 127.0.0.1.
    /// </summary>
    public static Uri ProbeAddress(string[] args, Func<string, string?> environment)
    {
        string? Option(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        var urls = Option("--url") ?? Option("--urls") ?? environment("ASPNETCORE_URLS") ?? environment("DOTNET_URLS");
        string baseUrl;
        if (!string.IsNullOrWhiteSpace(urls))
        {
            baseUrl = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        }
        else
        {
            var ports = environment("ASPNETCORE_HTTP_PORTS") ?? environment("DOTNET_HTTP_PORTS");
            var port = string.IsNullOrWhiteSpace(ports) ? "8080" : ports.Split(';', ',')[0].Trim();
            baseUrl = $"http://127.0.0.1:{port}";
        }
        var builder = new UriBuilder(WildcardToLoopback(baseUrl));
        builder.Path = builder.Path.TrimEnd('/') + "/health";
        return builder.Uri;
    }

    private static Uri WildcardToLoopback(string url)
    {
        // "+" and "*" are not host names System.Uri accepts.
        var normalized = url.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new FormatException($"health: '{url}' is not an http(s) address to probe.");
        if (uri.Host is "0.0.0.0" or "[::]" or "::") uri = new UriBuilder(uri) { Host = "127.0.0.1" }.Uri;
        return uri;
    }
}
