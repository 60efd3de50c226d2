using Uld.LogitServer.Deployments;
using Uld.Tests.Support;

namespace Uld.Tests.Server;

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
        Foundation.Stories260KImportTests.CopyDirectory(fixture.BaseDirectory, copy);
        File.AppendAllText(Path.Combine(copy, "generation_config.json"), "\n");
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() =>
            LogitServerHost.StartAsync(ServerFixture.Settings(copy, fixture.AssistantDirectory)));
        Assert.Contains("generation_config.json", error.Message);
    }

    [Fact]
    public async Task An_assistant_with_another_vocabulary_stops_start_up()
    {
        var assistant = _temp["assistant"];
        Foundation.Stories260KImportTests.CopyDirectory(fixture.AssistantDirectory, assistant);
        var manifestPath = Path.Combine(assistant, "manifest.json");
        var manifest = Uld.Contracts.Models.ModelManifest.Load(manifestPath);
        var tokenizer = Path.Combine(assistant, "tokenizer.json");
        File.WriteAllText(tokenizer, File.ReadAllText(tokenizer).Replace("\"▁the\"", "\"▁thee\""));
        var files = manifest.Files.ToDictionary();
        files["tokenizer.json"] = Uld.Contracts.Models.FileHash.Sha256(tokenizer);
        (manifest with { Files = files }).Save(manifestPath);

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
}
