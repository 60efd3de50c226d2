using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;
using Uld.Trainer.Model;
using Uld.Trainer.Onnx;
using Uld.Trainer.Safetensors;

namespace Uld.Tests.Trainer.Onnx;

/// <summary>
/// A ULD pair as one fused graph (stories260K + its 2-layer truncation): the same logits as the two sessions, the
/// same answers through the API, and refused when built from other models.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class FusedUldTests(ServerFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Fuse(string assistantDirectory, string name)
    {
        var path = Path.Combine(_temp[name], "uld-fused.onnx");
        UldFusedExport.ExportAndVerify(ModelDirectory.Open(fixture.BaseDirectory), ModelDirectory.Open(assistantDirectory), path);
        return path;
    }

    [Fact]
    public void Fused_logits_equal_the_two_session_uld_logits()
    {
        var fused = Fuse(fixture.AssistantDirectory, "fused");
        var diff = UldFusedExport.MaxDifference(fused, Path.Combine(fixture.BaseDirectory, ModelDirectory.OnnxFile),
            Path.Combine(fixture.AssistantDirectory, ModelDirectory.OnnxFile));
        Assert.InRange(diff, 0, 1e-4);

        // The graph really subtracts the assistant, per row: uld_logits − logits = −α·l_assistant.
        using var model = new OnnxCausalLm(fused);
        Assert.True(model.IsFusedUld);
        using var empty = model.EmptyCache(2);
        var step = model.Run([1, 403, 1, 403], [1, 1, 1, 1], [0, 1, 0, 1], 2, empty, LogitPositions.Last, [0f, 2f]);
        step.Present.Dispose();
        Assert.Equal(step.Row(0, 1).ToArray(), step.UldRow(0, 1).ToArray());
        var gap = step.Row(1, 1).ToArray().Zip(step.UldRow(1, 1).ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(gap > 0.5, $"α = 2 moved the logits by at most {gap}");
        // One LM head and shared weights: the fused file is far smaller than the two graphs together.
        var pairBytes = new FileInfo(Path.Combine(fixture.BaseDirectory, ModelDirectory.OnnxFile)).Length
                        + new FileInfo(Path.Combine(fixture.AssistantDirectory, ModelDirectory.OnnxFile)).Length;
        Assert.True(new FileInfo(fused).Length < 0.8 * pairBytes, $"fused {new FileInfo(fused).Length} B vs pair {pairBytes} B");
    }

    [Fact]
    public async Task A_fused_deployment_scores_and_answers_like_the_two_session_one()
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings["LogitServer:Deployments:1:Fused"] = Fuse(fixture.AssistantDirectory, "served");
        await using var server = await LogitServerHost.StartAsync(settings);

        async Task<double[]> Score(HttpClient http, double alpha)
        {
            var (status, body, _) = await HttpApi.PostAsync(http, "/v1/completions", new JsonObject
            {
                ["model"] = "stories-uld", ["prompt"] = "Once upon a time, there was a little girl named Lily.",
                ["echo"] = true, ["logprobs"] = 1, ["max_tokens"] = 0, ["uld_alpha"] = alpha,
            });
            Assert.Equal(200, status);
            return body!["choices"]![0]!["logprobs"]!["token_logprobs"]!.AsArray().Select(t => t?.GetValue<double>() ?? 0).ToArray();
        }
        foreach (var alpha in new[] { 0.5, 1.0, 1.8 })
        {
            var (twoSessions, fused) = (await Score(fixture.Server.Http, alpha), await Score(server.Http, alpha));
            Assert.Equal(twoSessions.Length, fused.Length);
            Assert.InRange(twoSessions.Zip(fused).Max(p => Math.Abs(p.First - p.Second)), 0, 1e-4);
        }

        foreach (var prompt in new[] { "Once upon a time", "Tom and Sue went to" })
        {
            var twoSessions = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", HttpApi.Chat("stories-uld", prompt, 40));
            var fused = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("stories-uld", prompt, 40));
            Assert.Equal(HttpApi.ContentOf(twoSessions.Body), HttpApi.ContentOf(fused.Body));
        }
    }

    [Fact]
    public async Task A_fused_graph_of_another_assistant_stops_start_up()
    {
        var other = Stories260KModels.ThreeLayerAssistantDirectory;
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings["LogitServer:Deployments:1:Fused"] = Fuse(other, "other");
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.Contains("'stories-uld'", error.Message);
        Assert.Contains("was not built from this assistant", error.Message);
    }

    [Fact]
    public void A_fused_graph_past_the_threshold_keeps_its_weights_in_a_data_file_named_for_the_output()
    {
        var folder = _temp["external"];
        var path = Path.Combine(folder, "pair.onnx");
        var (basePath, assistantPath) = (Path.Combine(fixture.BaseDirectory, ModelDirectory.OnnxFile), Path.Combine(fixture.AssistantDirectory, ModelDirectory.OnnxFile));
        UldFusedExport.ExportAndVerify(ModelDirectory.Open(fixture.BaseDirectory), ModelDirectory.Open(fixture.AssistantDirectory), path, externalDataThreshold: 0);

        // Only the graph and its data file remain (no staging folder); the graph holds structure, the data file the weights.
        Assert.Equal(["pair.onnx", "pair.onnx_data"], Directory.EnumerateFileSystemEntries(folder).Select(f => Path.GetFileName(f)).Order().ToArray());
        Assert.True(new FileInfo(path + "_data").Length > 4 * new FileInfo(path).Length,
            $"graph {new FileInfo(path).Length} B, data {new FileInfo(path + "_data").Length} B");
        Assert.InRange(UldFusedExport.MaxDifference(path, basePath, assistantPath), 0, 1e-4);

        // Fusing again under the threshold leaves one self-contained graph: the old data file is not left behind.
        UldFusedExport.ExportAndVerify(ModelDirectory.Open(fixture.BaseDirectory), ModelDirectory.Open(fixture.AssistantDirectory), path);
        Assert.Equal(["pair.onnx"], Directory.EnumerateFileSystemEntries(folder).Select(f => Path.GetFileName(f)).ToArray());
        Assert.InRange(UldFusedExport.MaxDifference(path, basePath, assistantPath), 0, 1e-4);
    }

    [Fact]
    public void An_assistant_layer_that_differs_from_the_base_keeps_its_own_weights_in_the_fused_graph()
    {
        // A LoRA-merged assistant keeps the base's tensor names; only its values say which layers it changed.
        var (baseDir, assistantDir) = (ModelDirectory.Open(fixture.BaseDirectory), ModelDirectory.Open(fixture.AssistantDirectory));
        var baseWeights = SafetensorsFile.Read(baseDir.WeightsPath).Tensors;
        var changed = "model.layers.1.mlp.down_proj.weight";
        var assistantWeights = SafetensorsFile.Read(assistantDir.WeightsPath).Tensors.ToDictionary(p => p.Key, p => p.Value);
        var original = assistantWeights[changed];
        assistantWeights[changed] = SafeTensor.FromFloats(changed, original.Shape, original.ToFloats().Select(v => v * 1.5f + 0.01f).ToArray());

        var folder = Directory.CreateDirectory(_temp["changed"]).FullName;
        var assistantPath = Path.Combine(folder, "assistant.onnx");
        new OnnxModelWriter().Write(LlamaOnnxExporter.Build(assistantDir.Config, assistantWeights), assistantPath);
        var graph = UldFusedOnnxExporter.Build(baseDir.Config, baseWeights, assistantDir.Config, assistantWeights);
        var names = graph.Initializers.Select(i => i.Name).ToHashSet();
        Assert.Contains(OnnxCausalLm.AssistantPrefix + changed + "_T", names);
        Assert.DoesNotContain(OnnxCausalLm.AssistantPrefix + "model.layers.0.mlp.down_proj.weight_T", names); // unchanged: stored once

        var fusedPath = Path.Combine(folder, "fused.onnx");
        new OnnxModelWriter().Write(graph, fusedPath);
        var basePath = Path.Combine(fixture.BaseDirectory, ModelDirectory.OnnxFile);
        Assert.InRange(UldFusedExport.MaxDifference(fusedPath, basePath, assistantPath), 0, 1e-4);
        // And the change matters: against the unchanged assistant the fused logits are far off.
        Assert.True(UldFusedExport.MaxDifference(fusedPath, basePath, Path.Combine(fixture.AssistantDirectory, ModelDirectory.OnnxFile)) > 1e-2);
    }
}
