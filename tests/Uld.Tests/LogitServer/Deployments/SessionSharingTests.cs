using Microsoft.Extensions.DependencyInjection;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Inference.Weights;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments;

/// <summary>Deployments over the same model files share one ONNX Runtime session, released with the last of them.</summary>
[Collection(ServerCollection.Name)]
public sealed class SessionSharingTests(ServerFixture fixture)
{
    [Fact]
    public void A_plain_deployment_and_two_uld_policies_over_one_base_load_two_serving_sessions()
    {
        var registry = fixture.Server.App.Services.GetRequiredService<DeploymentRegistry>();
        var (plain, uld, lab) = (registry.Resolve("stories"), registry.Resolve("stories-uld"), registry.Resolve("stories-uld-lab"));
        // stories260K and its assistant have onnx/serving.onnx: every deployment runs those, with in-place slot caches.
        Assert.NotNull(plain.ServingModel);
        Assert.Null(plain.BaseSession);
        Assert.Same(plain.ServingModel, uld.ServingModel);
        Assert.Same(plain.ServingModel, lab.ServingModel);
        Assert.Same(uld.ServingCompanions[0], lab.ServingCompanions[0]);
        Assert.NotSame(uld.ServingModel, uld.ServingCompanions[0]);
        Assert.Empty(uld.CompanionSessions);
        Assert.Equal(2, registry.Sessions.LoadedSessions);
    }

    [Theory]
    [InlineData("LogitServer:KvCache", "concat")]
    [InlineData("LogitServer:KvCacheMaxLength", "16")] // below stories260K's context
    public async Task Where_the_in_place_cache_is_not_used_a_plain_deployment_shares_the_base_session_of_uld_deployments(string key, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            [key] = value,
            ["LogitServer:Deployments:0:Name"] = "stories",
            ["LogitServer:Deployments:0:Model"] = fixture.BaseDirectory,
            ["LogitServer:Deployments:1:Name"] = "stories-uld",
            ["LogitServer:Deployments:1:Kind"] = "Uld",
            ["LogitServer:Deployments:1:Base"] = fixture.BaseDirectory,
            ["LogitServer:Deployments:1:Assistant"] = fixture.AssistantDirectory,
        };
        await using var server = await LogitServerHost.StartAsync(settings);
        var registry = server.App.Services.GetRequiredService<DeploymentRegistry>();
        var (plain, uld) = (registry.Resolve("stories"), registry.Resolve("stories-uld"));
        Assert.Null(plain.ServingModel);
        Assert.Same(plain.BaseModel, uld.BaseModel);
        Assert.Equal(2, registry.Sessions.LoadedSessions);
    }

    [Fact]
    public void The_last_lease_disposes_the_session()
    {
        using var cache = new ModelSessionCache(SharedWeights.None());
        var settings = new SessionSettings { IntraOpThreads = 1 };
        var onnx = ModelDirectory.Open(fixture.BaseDirectory).OnnxPath;
        var first = cache.Acquire(onnx, settings);
        var second = cache.Acquire(Path.Combine(Path.GetDirectoryName(onnx)!, ".", Path.GetFileName(onnx)), settings with { IntraOpThreads = 2 }); // same file, another spelling and thread count
        Assert.Same(first.Model, second.Model);

        first.Dispose();
        first.Dispose(); // a second release of one lease must not take the other's
        Assert.Equal(1, cache.LoadedSessions);
        using var empty = second.Model.EmptyCache(1);
        var step = second.Model.Run([1], [1], [0], 1, empty); // still usable
        step.Present.Dispose();
        Assert.Equal(512, step.Vocab);
        second.Dispose();
        Assert.Equal(0, cache.LoadedSessions);
    }
}
