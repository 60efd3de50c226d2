using Uld.LogitServer.Deployments;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments;

/// <summary>Per-deployment execution providers: CUDA where it is not available stops start-up with one line saying why.</summary>
[Collection(ServerCollection.Name)]
public sealed class ExecutionProviderTests(ServerFixture fixture)
{
    [Fact]
    public async Task Cuda_without_cuda_stops_start_up_naming_the_deployment_and_the_reason()
    {
        // This machine has no GPU and the test build is CPU-only; with -p:UldGpu=true the reason is the missing CUDA libraries.
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings["LogitServer:Deployments:1:ExecutionProvider"] = "cuda";
        settings["LogitServer:Deployments:1:DeviceId"] = "1";
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.StartsWith("deployment 'stories-uld': the CUDA execution provider (device 1) is not available: ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task The_server_wide_provider_is_every_deployments_default()
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings["LogitServer:ExecutionProvider"] = "cuda";
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.StartsWith("deployment 'stories': the CUDA execution provider (device 0)", error.Message);

        settings["LogitServer:Deployments:0:ExecutionProvider"] = "cpu";
        settings["LogitServer:Deployments:1:ExecutionProvider"] = "CPU";
        settings["LogitServer:Deployments:2:ExecutionProvider"] = "cpu";
        await using var server = await LogitServerHost.StartAsync(settings);
        Assert.Equal(200, (await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("stories-uld", "Once", 3))).Status);
    }

    [Fact]
    public async Task An_unknown_provider_is_refused()
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings["LogitServer:Deployments:0:ExecutionProvider"] = "tpu";
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.Equal("LogitServer:Deployments:0:ExecutionProvider (deployment 'stories') must be \"cpu\" or \"cuda\"; got \"tpu\".", error.Message);
    }
}
