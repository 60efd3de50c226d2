using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Admin;
using Uld.Contracts.OpenAi;

namespace Uld.Web.Admin;

/// <summary>A LogitServer admin call that did not succeed: the replica, what was asked, and the replica's answer.</summary>
public sealed class RuntimeDeploymentsException(string replica, string message, HttpStatusCode? status = null, Exception? inner = null)
    : Exception($"{replica}: {message}", inner)
{
    public string Replica { get; } = replica;
    /// <summary>The replica's status; null when it could not be reached.</summary>
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>
/// A client of LogitServer's runtime deployment API (docs/DESIGN.md, *Runtime deployments*; the wire records are
/// <see cref="AdminRoutes"/>): list what a replica serves, load or replace one deployment with a deployments.json
/// entry, unload one. Every call carries the admin key as a Bearer token; failures name the replica and carry its
/// OpenAI-shaped error message.
/// </summary>
public sealed class RuntimeDeploymentsClient(HttpClient http, string adminKey)
{
    private static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web);

    public async Task<DeployedList> ListAsync(Uri replica, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, replica, AdminRoutes.Deployments, null, cancellationToken);
        await EnsureAsync(replica, response, "list deployments", cancellationToken);
        return await response.Content.ReadFromJsonAsync<DeployedList>(Wire, cancellationToken)
               ?? throw new RuntimeDeploymentsException(replica.ToString(), "listed no deployments (empty body).", response.StatusCode);
    }

    /// <summary>The version of <paramref name="name"/> the replica serves now, or null when it serves none.</summary>
    public async Task<DeployedVersion?> FindAsync(Uri replica, string name, CancellationToken cancellationToken) =>
        (await ListAsync(replica, cancellationToken)).Data.FirstOrDefault(d => d.Name == name);

    /// <summary>Loads <paramref name="entry"/> as <paramref name="name"/> (new or replacing), verified by the replica before it serves it.</summary>
    public async Task<DeployedVersion> PutAsync(Uri replica, string name, JsonObject entry, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, replica, AdminRoutes.Deployment(name), JsonContent.Create(entry), cancellationToken);
        await EnsureAsync(replica, response, $"load '{name}'", cancellationToken);
        return await response.Content.ReadFromJsonAsync<DeployedVersion>(Wire, cancellationToken)
               ?? throw new RuntimeDeploymentsException(replica.ToString(), $"loaded '{name}' but answered with an empty body.", response.StatusCode);
    }

    /// <summary>Unloads <paramref name="name"/>; a name the replica does not serve counts as unloaded (so the call can be repeated).</summary>
    public async Task DeleteAsync(Uri replica, string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, replica, AdminRoutes.Deployment(name), null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound) return;
        await EnsureAsync(replica, response, $"unload '{name}'", cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri replica, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(replica, path)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new RuntimeDeploymentsException(replica.ToString(), $"{method} {path}: unreachable ({e.Message}).", null, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RuntimeDeploymentsException(replica.ToString(), $"{method} {path}: no answer within {http.Timeout.TotalSeconds:0} s.", null, e);
        }
    }

    private static async Task EnsureAsync(Uri replica, HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        string? message = null;
        try
        {
            message = JsonSerializer.Deserialize<ErrorResponse>(body, Wire)?.Error?.Message;
        }
        catch (JsonException)
        {
        }
        throw new RuntimeDeploymentsException(replica.ToString(), $"could not {what}: {(int)response.StatusCode} {message ?? Truncate(body)}", response.StatusCode);
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
