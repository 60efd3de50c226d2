using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Web;

namespace Uld.Tests.Support;

/// <summary>Calls LogitServer's admin API (<c>/admin/deployments</c>) with raw bodies, methods and paths, as an attacker would too.</summary>
public static class AdminApi
{
    public const string Key = "admin-key-of-the-tests";

    /// <summary><paramref name="settings"/> with the admin API on (its key's hash) and, if given, a runtime deployments file.</summary>
    public static Dictionary<string, string?> Enabled(Dictionary<string, string?> settings, string? runtimeFile = null)
    {
        var result = new Dictionary<string, string?>(settings) { ["LogitServer:AdminKeySha256"] = KeyHash.Sha256Hex(Key) };
        if (runtimeFile is not null) result["LogitServer:RuntimeDeploymentsFile"] = runtimeFile;
        return result;
    }

    public static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(HttpClient http, HttpMethod method, string path,
        string? body = null, string? key = Key, string contentType = "application/json", string scheme = "Bearer")
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue(scheme, key);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, contentType);
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public static Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PutAsync(HttpClient http, string name, JsonObject spec) =>
        SendAsync(http, HttpMethod.Put, Uld.Contracts.Admin.AdminRoutes.Deployment(name), spec.ToJsonString());

    /// <summary>GET /admin/deployments as name → entry.</summary>
    public static async Task<Dictionary<string, JsonNode>> ListAsync(HttpClient http)
    {
        var (status, body, _) = await SendAsync(http, HttpMethod.Get, Uld.Contracts.Admin.AdminRoutes.Deployments);
        Assert.Equal(200, status);
        return body!["data"]!.AsArray().ToDictionary(d => d!["name"]!.GetValue<string>(), d => d!);
    }
}
