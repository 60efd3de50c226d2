using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Uld.Gateway;
using Uld.Gateway.Discovery;
using Uld.Gateway.Security;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.Gateway.Discovery;

/// <summary>
/// Replicas found by DNS (Gateway:Clusters:X:ReplicaService, a Kubernetes headless Service): two real LogitServers on
/// one port at 127.0.0.1 and 127.0.0.2 behind one name both serve; one killed, traffic moves to the other; the name
/// dropping an address, or failing to resolve, takes replicas out of the pool, and its return puts them back.
/// </summary>
[Collection(ServerCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class ReplicaDiscoveryTests(ServerFixture fixture)
{
    private const string ServiceHost = "stories-replicas.uld.test";

    /// <summary>What the name resolves to, changed by the test as a cluster's DNS would change.</summary>
    private sealed class FixedAddresses : IReplicaAddressResolver
    {
        private volatile IPAddress[]? _addresses;
        public ConcurrentQueue<string> Asked { get; } = new();

        public void Set(params string[] addresses) => _addresses = addresses.Select(IPAddress.Parse).ToArray();
        public void Fail() => _addresses = null;

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Asked.Enqueue(host);
            return _addresses is { } addresses ? Task.FromResult(addresses) : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
        }
    }

    [Fact]
    public async Task Two_replicas_behind_one_name_both_serve_and_traffic_follows_kills_and_DNS_changes()
    {
        var recorders = new[] { new ReplicaRecorder(), new ReplicaRecorder() };
        var settings = GatewayStack.ReplicaSettings(fixture.BaseDirectory, fixture.AssistantDirectory);
        await using var first = await LogitServerHost.StartAsync(settings, b => b.Services.AddSingleton<IStartupFilter>(recorders[0]));
        var port = first.BaseAddress.Port;
        await using var second = await LogitServerHost.StartAsync(settings, b => b.Services.AddSingleton<IStartupFilter>(recorders[1]), host: "127.0.0.2", port: port);

        var dns = new FixedAddresses();
        dns.Set("127.0.0.1", "127.0.0.2");
        var gatewaySettings = GatewayStack.GatewaySettings([]);
        gatewaySettings["Gateway:Clusters:stories-pool:ReplicaService"] = $"http://{ServiceHost}:{port}";
        gatewaySettings["Gateway:DnsRefreshInterval"] = "00:00:00.2";
        var (gateway, address) = await LoopbackHost.StartAsync((args, configure) => GatewayApp.Build(args, b =>
        {
            configure(b);
            b.Services.AddSingleton<IReplicaAddressResolver>(dns);
        }), gatewaySettings);
        await using var _ = gateway;
        await GatewayStack.WaitUntilPoliciesAreReadAsync(address);
        Assert.Contains(ServiceHost, dns.Asked);
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayStack.TeamKey);
        await WaitForReplicasAsync(client, replicas: 2, healthy: 2);

        // Both addresses serve.
        await AssertAllSucceedAsync(client, 20);
        Assert.All(recorders, r => Assert.NotEmpty(r.Requests));

        // One replica dies (the name still lists it): every request goes to the other.
        await second.DisposeAsync();
        recorders[0].Clear();
        await AssertAllSucceedAsync(client, 20);
        Assert.Equal(20, recorders[0].Requests.Count(r => r.Path == "/v1/chat/completions"));

        // The name drops the dead replica's address: it leaves the pool.
        dns.Set("127.0.0.1");
        await WaitForReplicasAsync(client, replicas: 1, healthy: 1);

        // The name stops resolving (a headless Service with no ready pod): no replica, an explicit 503.
        dns.Fail();
        await WaitForReplicasAsync(client, replicas: 0, healthy: 0);
        var (status, error, response) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "Lily had a dog", 3));
        Assert.Equal(503, status);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("server_error", error!["error"]!["type"]!.GetValue<string>());

        // It resolves again: served again, without a restart.
        dns.Set("127.0.0.1");
        await WaitForReplicasAsync(client, replicas: 1, healthy: 1);
        await AssertAllSucceedAsync(client, 3);
    }

    [Fact]
    public async Task The_system_resolver_finds_a_replica_by_name()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Clusters:local:Models:0"] = "stories",
            ["Gateway:Clusters:local:ReplicaService"] = $"http://localhost:{fixture.Server.BaseAddress.Port}",
            ["Gateway:ApiKeys:0:Name"] = "team-a",
            ["Gateway:ApiKeys:0:Sha256"] = ApiKeyStore.Hash(GatewayStack.TeamKey),
            ["Gateway:HealthCheckInterval"] = "00:00:01",
        };
        var (gateway, address) = await GatewayApp.StartOnLoopbackAsync(settings);
        await using var running = gateway;
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayStack.TeamKey);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        int status;
        JsonNode? body;
        do
        {
            (status, body, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", "Lily had a dog", 3));
            if (status == 200) break;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        Assert.True(status == 200, $"{status} {body}");
    }

    [Theory]
    [InlineData(null, null, "neither Replicas nor ReplicaService")]
    [InlineData("http://a:8080", "http://replicas:8080", "both Replicas and ReplicaService")]
    [InlineData(null, "replicas:8080", "ReplicaService")]
    [InlineData(null, "ftp://replicas:8080", "ReplicaService")]
    [InlineData(null, "http://replicas:8080/v1", "ReplicaService")]
    [InlineData(null, "http://user@replicas:8080", "ReplicaService")]
    public void A_cluster_names_its_replicas_one_way(string? replica, string? service, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Clusters:pool:Models:0"] = "stories",
            ["Gateway:RequireApiKey"] = "false",
        };
        if (replica is not null) settings["Gateway:Clusters:pool:Replicas:0"] = replica;
        if (service is not null) settings["Gateway:Clusters:pool:ReplicaService"] = service;
        var e = Assert.ThrowsAny<InvalidOperationException>(() => GatewayApp.Build(["--urls", "http://127.0.0.1:0"], b => b.Configuration.AddInMemoryCollection(settings)));
        Assert.Contains(expected, e.Message);
    }

    private static async Task AssertAllSucceedAsync(HttpClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var (status, body, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", HttpApi.Chat("stories", $"Lily had a dog {i}", 3));
            Assert.True(status == 200, $"request {i}: {status} {body}");
        }
    }

    /// <summary>Waits until the gateway's /health shows this many replicas in stories-pool, this many of them healthy.</summary>
    private static async Task WaitForReplicasAsync(HttpClient client, int replicas, int healthy)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonNode? pool = null;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("/health");
            pool = JsonNode.Parse(await response.Content.ReadAsStringAsync())?["clusters"]?["stories-pool"];
            if (pool?["replicas"]?.GetValue<int>() == replicas && pool["healthy_replicas"]?.GetValue<int>() == healthy) return;
            await Task.Delay(100);
        }
        Assert.Fail($"stories-pool never had {replicas} replicas, {healthy} healthy: {pool}");
    }
}
