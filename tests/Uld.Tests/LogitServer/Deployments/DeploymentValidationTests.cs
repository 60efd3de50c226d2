using Uld.LogitServer.Deployments;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments;

/// <summary>Start-up refuses deployments it cannot serve correctly, with a message saying why.</summary>
[Collection(ServerCollection.Name)]
public sealed class DeploymentValidationTests(ServerFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_modified_model_file_stops_start_up()
    {
        var copy = _temp["base"];
        DirectoryCopy.Copy(fixture.BaseDirectory, copy);
        File.AppendAllText(Path.Combine(copy, "generation_config.json"), "\n");
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() =>
            LogitServerHost.StartAsync(ServerFixture.Settings(copy, fixture.AssistantDirectory)));
        Assert.Contains("generation_config.json", error.Message);
    }

    [Fact]
    public async Task An_assistant_with_another_vocabulary_stops_start_up()
    {
        var assistant = VocabularyChange.CopyWithAnotherVocabulary(fixture.AssistantDirectory, _temp["assistant"]);

        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() =>
            LogitServerHost.StartAsync(ServerFixture.Settings(fixture.BaseDirectory, assistant)));
        Assert.Contains("vocabulary", error.Message);
    }

    [Fact]
    public async Task A_missing_model_directory_names_the_deployment()
    {
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() =>
            LogitServerHost.StartAsync(ServerFixture.Settings(_temp["nothing-here"], fixture.AssistantDirectory)));
        Assert.Contains("'stories'", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    public static TheoryData<string, string?, string> BadSettings => new()
    {
        { "LogitServer:MaxBatchSise", "8", "unknown setting LogitServer:MaxBatchSise" },
        { "LogitServer:Deployments:1:AlphaMn", "0", "unknown setting LogitServer:Deployments:1:AlphaMn" },
        { "LogitServer:Deployments:1:Uld:AlphaMin", "0", "unknown setting LogitServer:Deployments:1:Uld" },
        { "LogitServer:Deployments:2:Name", "stories-uld", "LogitServer:Deployments:2:Name: deployment name 'stories-uld' is used twice" },
        { "LogitServer:Deployments:1:AlphaMin", "1.5", "LogitServer:Deployments:1:AlphaMin (deployment 'stories-uld') must not exceed AlphaDefault" },
        { "LogitServer:Deployments:1:AlphaMax", "0.9", "LogitServer:Deployments:1:AlphaDefault (deployment 'stories-uld') must not exceed AlphaMax" },
        { "LogitServer:Deployments:2:AlphaMin", "-0.5", "LogitServer:Deployments:2:AlphaMin (deployment 'stories-uld-lab') must be a finite number ≥ 0" },
        { "LogitServer:Deployments:1:RelativeTopMax", "2", "LogitServer:Deployments:1:RelativeTopMax (deployment 'stories-uld') must be at most 1" },
        { "LogitServer:Deployments:1:Assistant", "/nonexistent/assistant", "LogitServer:Deployments:1:Assistant (deployment 'stories-uld'): model directory /nonexistent/assistant does not exist" },
        { "LogitServer:Deployments:1:Assistant", null, "LogitServer:Deployments:1:Assistant is required" },
        { "LogitServer:Deployments:0:Base", "/tmp", "LogitServer:Deployments:0:Base is not used by Plain deployments" },
        { "LogitServer:Deployments:0:Kind", "Ulld", "LogitServer:Deployments:0:Kind" },
        { "LogitServer:Deployments:0:Rule", "SuppressOnly", "LogitServer:Deployments:0:Rule is not used by Plain deployments" },
        { "LogitServer:Deployments:1:Rule", "Suppress", "LogitServer:Deployments:1:Rule" },
        { "LogitServer:Deployments:1:Rule", "7", "LogitServer:Deployments:1:Rule (deployment 'stories-uld') must be Difference or SuppressOnly" },
        { "LogitServer:MaxQueuedRequests", "-1", "LogitServer:MaxQueuedRequests must be at least 1" },
        { "LogitServer:KvCacheMaxLength", "0", "LogitServer:KvCacheMaxLength must be at least 1; got 0." },
        { "LogitServer:PrefillTimeShare", "-0.5", "LogitServer:PrefillTimeShare must be a finite number ≥ 0 (0 runs prompts whole); got -0.5." },
        { "LogitServer:PrefillTimeShare", "NaN", "LogitServer:PrefillTimeShare must be a finite number ≥ 0" },
        { "LogitServer:PrefillTimeShare", "Infinity", "LogitServer:PrefillTimeShare must be a finite number ≥ 0" },
        { "LogitServer:MinPrefillChunkTokens", "0", "LogitServer:MinPrefillChunkTokens must be at least 1; got 0." },
        { "LogitServer:KvCache", "inplace ", "LogitServer:KvCache must be \"InPlace\" or \"Concat\"; got \"inplace \"" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Bad_settings_stop_start_up_with_one_line_naming_the_key(string key, string? value, string expected)
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings[key] = value;
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
