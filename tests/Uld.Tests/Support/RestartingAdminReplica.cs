using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Uld.Contracts.Admin;
using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Web;

namespace Uld.Tests.Support;

/// <summary>
/// LogitServer's runtime admin API (<see cref="AdminRoutes"/>) in front of a real LogitServer, for the forget service's
/// tests that need a replica to misbehave on cue: a PUT that fails (<see cref="FailPut"/>) or is held mid-deploy
/// (<see cref="BeforePut"/>). <c>PUT</c>/<c>DELETE /admin/deployments/{name}</c> rebuild the LogitServer behind it with
/// the changed entries (so a change is real — sessions loaded, files verified — but not live: running requests are
/// cut), <c>GET /admin/deployments</c> lists the entries with versions and each role's ONNX sha256, and every other
/// request is forwarded. Entries with more than one assistant are refused with 501 (the forwarding LogitServer is
/// configured, not changed at run time). The end-to-end test uses LogitServer's own admin API.
/// </summary>
public sealed class RestartingAdminReplica : IAsyncDisposable
{
    public const string AdminKey = "sk-logitserver-admin";

    private readonly SemaphoreSlim _changing = new(1, 1);
    private readonly List<(string Name, JsonObject Spec, int Version, DateTimeOffset LoadedAt)> _entries = [];
    private readonly HttpClient _forward = new() { Timeout = TimeSpan.FromMinutes(5) };
    private LogitServerHost _server = null!;
    private WebApplication _front = null!;

    public Uri Address { get; private set; } = null!;

    /// <summary>Every admin call that reached the replica: method and deployment name.</summary>
    public List<(string Method, string Name)> AdminCalls { get; } = [];

    /// <summary>When set and true for (name, entry), that PUT fails with a 500 (a replica that cannot load it).</summary>
    public Func<string, JsonObject, bool>? FailPut { get; set; }

    /// <summary>Awaited before a PUT is applied: lets a test hold a replica mid-deploy.</summary>
    public Func<string, Task>? BeforePut { get; set; }

    public IReadOnlyList<DeployedVersion> Deployed
    {
        get
        {
            lock (_entries) return [.. _entries.Select(e => Version(e.Name, e.Spec, e.Version, e.LoadedAt))];
        }
    }

    public static async Task<RestartingAdminReplica> StartAsync(params JsonObject[] entries)
    {
        var replica = new RestartingAdminReplica();
        foreach (var entry in entries) replica._entries.Add((entry["Name"]!.GetValue<string>(), entry, 1, DateTimeOffset.UtcNow));
        replica._server = await LogitServerHost.StartAsync(replica.Settings());
        var (front, address) = await LoopbackHost.StartAsync((args, configure) =>
        {
            var builder = WebApplication.CreateBuilder(args);
            configure(builder);
            var app = builder.Build();
            app.UseMiddleware<OpenAiErrorMiddleware>();
            app.Run(context => context.Request.Path.StartsWithSegments("/admin") ? replica.AdminAsync(context) : replica.ForwardAsync(context));
            return app;
        }, new Dictionary<string, string?>());
        (replica._front, replica.Address) = (front, address);
        return replica;
    }

    /// <summary>The entry deployments.json would hold for a plain deployment of <paramref name="model"/>.</summary>
    public static JsonObject Plain(string name, string model) => new() { ["Name"] = name, ["Kind"] = "Plain", ["Model"] = model };

    private async Task AdminAsync(HttpContext context)
    {
        if (KeyHash.BearerToken(context.Request.Headers.Authorization) != AdminKey)
            throw new OpenAiException(401, "Incorrect admin key provided.", "invalid_request_error", null, "invalid_api_key");
        var path = context.Request.Path.Value!;
        if (path == AdminRoutes.Deployments && HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.WriteAsJsonAsync(new DeployedList(Deployed));
            return;
        }
        var name = Uri.UnescapeDataString(path[(AdminRoutes.Deployments.Length + 1)..]);
        lock (AdminCalls) AdminCalls.Add((context.Request.Method, name));
        await _changing.WaitAsync();
        List<(string, JsonObject, int, DateTimeOffset)> saved;
        lock (_entries) saved = [.. _entries];
        try
        {
            int index;
            lock (_entries) index = _entries.FindIndex(e => e.Name == name);
            if (HttpMethods.IsDelete(context.Request.Method))
            {
                if (index < 0) throw new OpenAiException(404, $"no deployment '{name}'.", "invalid_request_error");
                lock (_entries) _entries.RemoveAt(index);
                await RebuildAsync();
                context.Response.StatusCode = 204;
                return;
            }
            var spec = await StrictJsonBody.ReadObjectAsync(context.Request, context.RequestAborted);
            // LogitServer echoes an entry with only the settings that differ from their defaults; of the keys these
            // tests send, RelativeTopMin 0 is one.
            if (spec["RelativeTopMin"] is JsonValue min && min.GetValueKind() == JsonValueKind.Number && min.GetValue<double>() == 0) spec.Remove("RelativeTopMin");
            if (spec["Assistants"] is JsonArray { Count: > 1 })
                throw new OpenAiException(501, "this LogitServer serves one assistant per deployment.", "server_error", "Assistants", "not_implemented");
            if (BeforePut is { } hold) await hold(name);
            if (FailPut?.Invoke(name, spec) == true) throw new OpenAiException(500, $"could not load '{name}' (failure injected by the test).", "server_error");
            var version = index < 0 ? 1 : _entries[index].Version + 1;
            var entry = (name, spec, version, DateTimeOffset.UtcNow);
            lock (_entries)
            {
                if (index < 0) _entries.Add(entry);
                else _entries[index] = entry;
            }
            await RebuildAsync();
            context.Response.StatusCode = index < 0 ? 201 : 200;
            await context.Response.WriteAsJsonAsync(Version(name, spec, version, entry.Item4));
        }
        catch (Exception e) when (e is not OpenAiException)
        {
            // The LogitServer refused the changed entries: keep serving the previous ones, as a real replica would.
            lock (_entries)
            {
                _entries.Clear();
                _entries.AddRange(saved);
            }
            throw new OpenAiException(400, $"could not load '{name}': {e.Message}", "invalid_request_error");
        }
        finally
        {
            _changing.Release();
        }
    }

    private async Task RebuildAsync()
    {
        var old = _server;
        _server = await LogitServerHost.StartAsync(Settings());
        await old.DisposeAsync();
    }

    private Dictionary<string, string?> Settings()
    {
        var settings = new Dictionary<string, string?>();
        lock (_entries)
        {
            for (var i = 0; i < _entries.Count; i++)
            {
                foreach (var (key, value) in _entries[i].Spec)
                {
                    if (key == "Assistants")
                    {
                        var only = value!.AsArray().Single()!;
                        settings[$"LogitServer:Deployments:{i}:Assistant"] = only["Path"]!.GetValue<string>();
                        continue;
                    }
                    settings[$"LogitServer:Deployments:{i}:{key}"] = value is JsonValue v && v.GetValueKind() == JsonValueKind.String
                        ? v.GetValue<string>()
                        : value!.ToJsonString();
                }
                settings[$"LogitServer:Deployments:{i}:Name"] = _entries[i].Name;
            }
        }
        return settings;
    }

    private static DeployedVersion Version(string name, JsonObject spec, int version, DateTimeOffset loadedAt)
    {
        var hashes = new Dictionary<string, string>();
        void Role(string role, string? dir)
        {
            if (dir is not null) hashes[role] = FileHash.Sha256(Path.Combine(dir, ModelDirectory.OnnxFile));
        }
        Role("model", spec["Model"]?.GetValue<string>());
        Role("base", spec["Base"]?.GetValue<string>());
        Role("assistant", spec["Assistant"]?.GetValue<string>());
        if (spec["Assistants"] is JsonArray list)
        {
            for (var i = 0; i < list.Count; i++) Role(i == 0 ? "assistant" : $"assistant.{i.ToString(CultureInfo.InvariantCulture)}", list[i]!["Path"]!.GetValue<string>());
        }
        return new DeployedVersion(name, version, spec["Kind"]?.GetValue<string>() ?? "Plain", (JsonObject)spec.DeepClone(), hashes, loadedAt, 0.1);
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var server = _server;
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(server.BaseAddress, context.Request.Path + context.Request.QueryString));
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(context.Request.Body);
            if (context.Request.ContentType is { } type) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        }
        using var response = await _forward.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Content.Headers.ContentType is { } contentType) context.Response.ContentType = contentType.ToString();
        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _front.StopAsync();
        await _front.DisposeAsync();
        await _server.DisposeAsync();
        _forward.Dispose();
    }
}
