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
    public void A_plain_deployment_and_two_uld_policies_over_one_base_load_two_sessions()
    {
        var registry = fixture.Server.App.Services.GetRequiredService<DeploymentRegistry>();
        var (plain, uld, lab) = (registry.Resolve("stories"), registry.Resolve("stories-uld"), registry.Resolve("stories-uld-lab"));
        Assert.Same(plain.BaseModel, uld.BaseModel);
        Assert.Same(plain.BaseModel, lab.BaseModel);
        Assert.Same(uld.CompanionModels[0], lab.CompanionModels[0]);
        Assert.NotSame(uld.BaseModel, uld.CompanionModels[0]);
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
