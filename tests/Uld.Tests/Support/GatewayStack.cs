using Microsoft.AspNetCore.Builder;
using Uld.Gateway;
using Uld.Gateway.Security;

namespace Uld.Tests.Support;

/// <summary>Two LogitServer replicas (each behind a <see cref="TcpRelay"/>) and a gateway in front, all on loopback.</summary>
public sealed class GatewayStack : IAsyncDisposable
{
    public const string TeamKey = "sk-team-a";
    public const string LimitedKey = "sk-limited";
    public const string LabKey = "sk-lab";
    /// <summary>3 requests per minute; only the rate-limit test uses it.</summary>
    public const string ThrottledKey = "sk-throttled";

    public required LogitServerHost[] Replicas { get; init; }
    public required TcpRelay[] Relays { get; init; }
    public required WebApplication Gateway { get; init; }
    public required Uri Address { get; init; }

    public HttpClient Client(string? key = TeamKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    /// <param name="healthCheckInterval">active /health probing; 1 s unless a test needs probes out of the way</param>
    public static async Task<GatewayStack> StartAsync(string baseDir, string assistantDir, TimeSpan? healthCheckInterval = null)
    {
        var replicas = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => LogitServerHost.StartAsync(ServerFixture.Settings(baseDir, assistantDir))));
        var relays = replicas.Select(r => new TcpRelay(r.BaseAddress)).ToArray();
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Clusters:stories-pool:Replicas:0"] = relays[0].Address.ToString(),
            ["Gateway:Clusters:stories-pool:Replicas:1"] = relays[1].Address.ToString(),
            ["Gateway:Clusters:stories-pool:Models:0"] = "stories",
            ["Gateway:Clusters:stories-pool:Models:1"] = "stories-uld-lab",
            ["Gateway:Experiments:stories-ab:Variants:0:Name"] = "uld",
            ["Gateway:Experiments:stories-ab:Variants:0:Model"] = "stories-uld-lab",
            ["Gateway:Experiments:stories-ab:Variants:0:Weight"] = "1",
            ["Gateway:Experiments:stories-ab:Variants:1:Name"] = "plain",
            ["Gateway:Experiments:stories-ab:Variants:1:Model"] = "stories",
            ["Gateway:Experiments:stories-ab:Variants:1:Weight"] = "1",
            ["Gateway:AlphaFloors:stories-uld-lab"] = "0.8",
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
        };
        var (gateway, address) = await GatewayApp.StartOnLoopbackAsync(settings);
        return new GatewayStack { Replicas = replicas, Relays = relays, Gateway = gateway, Address = address };
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        foreach (var relay in Relays) relay.Dispose();
        foreach (var replica in Replicas) await replica.DisposeAsync();
    }
}
