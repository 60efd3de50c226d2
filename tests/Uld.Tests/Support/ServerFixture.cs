namespace Uld.Tests.Support;

/// <summary>
/// stories260K as a base, a 2-layer truncation of it as a stand-in ULD assistant, and one LogitServer serving:
/// "stories" (plain), "stories-uld" (α ∈ [0.5, 2], default 1) and "stories-uld-lab" (α may go to 0).
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public string BaseDirectory => Stories260KModels.BaseDirectory;
    public string AssistantDirectory => Stories260KModels.AssistantDirectory;
    public LogitServerHost Server { get; private set; } = null!;

    private Task<GatewayStack>? _gateway;

    /// <summary>A gateway over two replicas, started on first use and shared by the gateway tests that don't kill replicas.</summary>
    public Task<GatewayStack> SharedGatewayAsync() => _gateway ??= GatewayStack.StartAsync(BaseDirectory, AssistantDirectory);

    public async Task InitializeAsync()
    {
        Server = await LogitServerHost.StartAsync(Settings(BaseDirectory, AssistantDirectory));
    }

    public static Dictionary<string, string?> Settings(string baseDir, string assistantDir, int maxBatch = 32, int maxQueued = 256) => new()
    {
        ["LogitServer:MaxBatchSize"] = maxBatch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LogitServer:MaxQueuedRequests"] = maxQueued.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LogitServer:Deployments:0:Name"] = "stories",
        ["LogitServer:Deployments:0:Kind"] = "Plain",
        ["LogitServer:Deployments:0:Model"] = baseDir,
        ["LogitServer:Deployments:1:Name"] = "stories-uld",
        ["LogitServer:Deployments:1:Kind"] = "Uld",
        ["LogitServer:Deployments:1:Base"] = baseDir,
        ["LogitServer:Deployments:1:Assistant"] = assistantDir,
        ["LogitServer:Deployments:1:AlphaDefault"] = "1.0",
        ["LogitServer:Deployments:1:AlphaMin"] = "0.5",
        ["LogitServer:Deployments:1:AlphaMax"] = "2.0",
        ["LogitServer:Deployments:2:Name"] = "stories-uld-lab",
        ["LogitServer:Deployments:2:Kind"] = "Uld",
        ["LogitServer:Deployments:2:Base"] = baseDir,
        ["LogitServer:Deployments:2:Assistant"] = assistantDir,
        ["LogitServer:Deployments:2:AlphaDefault"] = "1.0",
        ["LogitServer:Deployments:2:AlphaMin"] = "0",
    };

    public async Task DisposeAsync()
    {
        if (_gateway is not null) await (await _gateway).DisposeAsync();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "logit-server";
}
