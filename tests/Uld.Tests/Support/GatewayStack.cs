using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Uld.Gateway;
using Uld.Gateway.Security;

namespace Uld.Tests.Support;

/// <summary>
/// Two LogitServer replicas (each behind a <see cref="TcpRelay"/>, each recording what reaches it) and a gateway in
/// front, all on loopback. The replicas serve "stories" (plain), "stories-uld" (α ∈ [0.5, 2]), "stories-uld-lab"
/// (α ∈ [0, 2]), "stories-offset" (an offset deployment, β ∈ [0.5, 2]) and "stories-unrouted", which the gateway does
/// not route.
/// </summary>
public sealed class GatewayStack : IAsyncDisposable
{
    public const string TeamKey = "sk-team-a";
    public const string LimitedKey = "sk-limited";
    /// <summary>May use "stories-uld" only, without any α grant: the key an attacker holds in the security tests.</summary>
    public const string UldOnlyKey = "sk-uld-only";
    public const string LabKey = "sk-lab";
    /// <summary>May use "stories-offset" only, without any floor grant: the key the β attacks use.</summary>
    public const string OffsetOnlyKey = "sk-offset-only";
    /// <summary>The β floor of "stories-offset", as its replicas list it (LogitServer's BetaMin).</summary>
    public const double OffsetFloor = 0.5;
    /// <summary>3 requests per minute; only the rate-limit test uses it.</summary>
    public const string ThrottledKey = "sk-throttled";
    /// <summary>3 requests per minute; only the compare rate-limit test uses it.</summary>
    public const string CompareThrottledKey = "sk-compare-throttled";
    /// <summary>The α floor of "stories-uld", as its replicas list it (LogitServer's AlphaMin).</summary>
    public const double UldFloor = 0.5;

    public required LogitServerHost[] Replicas { get; init; }
    public required TcpRelay[] Relays { get; init; }
    public required ReplicaRecorder[] Recorders { get; init; }
    public required WebApplication Gateway { get; init; }
    public required Uri Address { get; init; }

    public HttpClient Client(string? key = TeamKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    /// <summary>Every request any replica received.</summary>
    public IReadOnlyList<ReplicaRecorder.Received> ReceivedByReplicas => Recorders.SelectMany(r => r.Requests).ToList();

    public static Dictionary<string, string?> ReplicaSettings(string baseDir, string assistantDir)
    {
        var settings = ServerFixture.Settings(baseDir, assistantDir);
        settings["LogitServer:Deployments:2:AlphaMax"] = "2.0";
        settings["LogitServer:Deployments:3:Name"] = "stories-unrouted";
        settings["LogitServer:Deployments:3:Kind"] = "Plain";
        settings["LogitServer:Deployments:3:Model"] = baseDir;
        // The truncated model as the reference and the full one as the "unlearned" model: not a trained pair, but
        // three real sessions whose offset visibly moves the base.
        settings["LogitServer:Deployments:4:Name"] = "stories-offset";
        settings["LogitServer:Deployments:4:Kind"] = "Offset";
        settings["LogitServer:Deployments:4:Base"] = baseDir;
        settings["LogitServer:Deployments:4:Reference"] = assistantDir;
        settings["LogitServer:Deployments:4:Unlearned"] = baseDir;
        settings["LogitServer:Deployments:4:BetaDefault"] = "1.0";
        settings["LogitServer:Deployments:4:BetaMin"] = OffsetFloor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["LogitServer:Deployments:4:BetaMax"] = "2.0";
        return settings;
    }

    /// <param name="replicaSettings">Changes to one replica's settings (by index), e.g. to make the replicas disagree.</param>
    /// <param name="healthCheckInterval">active /health probing and policy reading; 1 s unless a test needs probes out of the way</param>
    public static async Task<GatewayStack> StartAsync(string baseDir, string assistantDir, Action<int, Dictionary<string, string?>>? replicaSettings = null,
        TimeSpan? healthCheckInterval = null)
    {
        var recorders = new[] { new ReplicaRecorder(), new ReplicaRecorder() };
        var replicas = await Task.WhenAll(recorders.Select((recorder, i) =>
        {
            var settings = ReplicaSettings(baseDir, assistantDir);
            replicaSettings?.Invoke(i, settings);
            return LogitServerHost.StartAsync(settings, b => b.Services.AddSingleton<IStartupFilter>(recorder));
        }));
        var relays = replicas.Select(r => new TcpRelay(r.BaseAddress)).ToArray();
        var (gateway, address) = await GatewayApp.StartOnLoopbackAsync(GatewaySettings(relays.Select(r => r.Address), healthCheckInterval));
        var stack = new GatewayStack { Replicas = replicas, Relays = relays, Recorders = recorders, Gateway = gateway, Address = address };
        await stack.WaitUntilPoliciesAreReadAsync();
        return stack;
    }

    public static Dictionary<string, string?> GatewaySettings(IEnumerable<Uri> replicas, TimeSpan? healthCheckInterval = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Clusters:stories-pool:Models:0"] = "stories",
            ["Gateway:Clusters:stories-pool:Models:1"] = "stories-uld",
            ["Gateway:Clusters:stories-pool:Models:2"] = "stories-uld-lab",
            ["Gateway:Clusters:stories-pool:Models:3"] = "stories-offset",
            ["Gateway:Experiments:stories-ab:Variants:0:Name"] = "uld",
            ["Gateway:Experiments:stories-ab:Variants:0:Model"] = "stories-uld-lab",
            ["Gateway:Experiments:stories-ab:Variants:0:Weight"] = "1",
            ["Gateway:Experiments:stories-ab:Variants:1:Name"] = "plain",
            ["Gateway:Experiments:stories-ab:Variants:1:Model"] = "stories",
            ["Gateway:Experiments:stories-ab:Variants:1:Weight"] = "1",
            ["Gateway:HealthCheckInterval"] = (healthCheckInterval ?? TimeSpan.FromSeconds(1)).ToString("c"),
            ["Gateway:MaxRequestBodyBytes"] = "65536",
            ["Gateway:ApiKeys:0:Name"] = "team-a",
            ["Gateway:ApiKeys:0:Sha256"] = ApiKeyStore.Hash(TeamKey),
            ["Gateway:ApiKeys:1:Name"] = "limited",
            ["Gateway:ApiKeys:1:Sha256"] = ApiKeyStore.Hash(LimitedKey),
            ["Gateway:ApiKeys:1:AllowedModels:0"] = "stories",
            ["Gateway:ApiKeys:2:Name"] = "lab",
            ["Gateway:ApiKeys:2:Sha256"] = ApiKeyStore.Hash(LabKey),
            ["Gateway:ApiKeys:2:MayLowerAlphaBelowFloor"] = "true",
            ["Gateway:ApiKeys:3:Name"] = "throttled",
            ["Gateway:ApiKeys:3:Sha256"] = ApiKeyStore.Hash(ThrottledKey),
            ["Gateway:ApiKeys:3:RequestsPerMinute"] = "3",
            ["Gateway:ApiKeys:4:Name"] = "uld-only",
            ["Gateway:ApiKeys:4:Sha256"] = ApiKeyStore.Hash(UldOnlyKey),
            ["Gateway:ApiKeys:4:AllowedModels:0"] = "stories-uld",
            ["Gateway:ApiKeys:4:RequestsPerMinute"] = "100000",
            ["Gateway:ApiKeys:5:Name"] = "compare-throttled",
            ["Gateway:ApiKeys:5:Sha256"] = ApiKeyStore.Hash(CompareThrottledKey),
            ["Gateway:ApiKeys:5:RequestsPerMinute"] = "3",
            ["Gateway:ApiKeys:6:Name"] = "offset-only",
            ["Gateway:ApiKeys:6:Sha256"] = ApiKeyStore.Hash(OffsetOnlyKey),
            ["Gateway:ApiKeys:6:AllowedModels:0"] = "stories-offset",
            ["Gateway:ApiKeys:6:RequestsPerMinute"] = "100000",
        };
        foreach (var (replica, i) in replicas.Select((r, i) => (r, i))) settings[$"Gateway:Clusters:stories-pool:Replicas:{i}"] = replica.ToString();
        return settings;
    }

    /// <summary>The gateway refuses a deployment until its replicas' policy is read: wait for that (or for a conflict).</summary>
    private Task WaitUntilPoliciesAreReadAsync() => WaitUntilPoliciesAreReadAsync(Address);

    /// <summary>Waits until the gateway at <paramref name="gateway"/> knows the policy of every deployment of stories-pool.</summary>
    public static async Task WaitUntilPoliciesAreReadAsync(Uri gateway)
    {
        using var client = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("/health");
            var policies = JsonNode.Parse(await response.Content.ReadAsStringAsync())?["clusters"]?["stories-pool"]?["policies"]?.AsObject();
            if (response.IsSuccessStatusCode && policies is not null && policies.All(p => p.Value!.GetValue<string>() != "unknown")) return;
            await Task.Delay(50);
        }
        throw new TimeoutException("The gateway did not read the replicas' policies within 20 s.");
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        foreach (var relay in Relays) relay.Dispose();
        foreach (var replica in Replicas) await replica.DisposeAsync();
    }
}
