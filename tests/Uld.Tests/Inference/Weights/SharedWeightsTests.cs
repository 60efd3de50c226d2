using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Inference.Weights;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;
using Uld.Trainer.Cli;

namespace Uld.Tests.Inference.Weights;

/// <summary>
/// Weights that a base and its ULD assistant hold byte for byte (the 8-bit vocabulary table, a truncated assistant's
/// first layers) are found by name, shape and SHA-256, loaded once and given to both sessions, which must then compute
/// exactly what sessions loading their own files compute.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class SharedWeightsTests(Stories260KFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>stories260K and its first two layers as packages whose weights are all external data.</summary>
    private (string Base, string Assistant) Pair(string weights)
    {
        var (baseDir, assistantDir) = (_temp[$"base-{weights}"], _temp[$"assistant-{weights}"]);
        if (!Directory.Exists(_temp["k2"]))
            Assert.Equal(0, TrainerCli.Run("truncate", "--base", fixture.Model.Root, "-k", "2", "-o", _temp["k2"]));
        Assert.Equal(0, TrainerCli.Run("package", "-m", fixture.Model.Root, "-o", baseDir, "--weights", weights, "--external-data-threshold", "0"));
        Assert.Equal(0, TrainerCli.Run("package", "-m", _temp["k2"], "-o", assistantDir, "--weights", weights, "--external-data-threshold", "0"));
        return (ModelDirectory.Open(baseDir).OnnxPath, ModelDirectory.Open(assistantDir).OnnxPath);
    }

    [Fact]
    public void The_external_data_table_is_read_as_written()
    {
        var (onnx, _) = Pair("int8");
        var table = ExternalInitializers.Read(onnx).Single(i => i.Name == "model.embed_tokens.weight_q8");
        Assert.Equal([512L, 2, 32], table.Dims);
        Assert.Equal(2, table.DataType); // uint8
        Assert.Equal(512 * 64, table.Length);
        Assert.Equal(0, table.Offset % 4096); // page-aligned, as the writer promises
        Assert.Equal(onnx + "_data", table.DataPath);
        Assert.True(new FileInfo(table.DataPath).Length >= table.Offset + table.Length);
    }

    [Fact]
    public void A_truncated_assistant_shares_its_table_and_layers_with_its_base_and_computes_the_same()
    {
        var (baseOnnx, assistantOnnx) = Pair("int8");
        using var shared = SharedWeights.Plan([baseOnnx, assistantOnnx], minBytes: 1024);
        var names = ExternalInitializers.Read(assistantOnnx).Where(i => i.Length >= 1024).Select(i => i.Name).ToHashSet();
        // Everything of the assistant large enough is its base's: the table (codes and both scales) and layers 0–1.
        Assert.Contains("model.embed_tokens.weight_q8", names);
        Assert.Contains("model.layers.1.mlp.down_proj.weight_q8", names);
        Assert.Equal(names.Count, shared.Count);
        Assert.True(shared.SavedBytes > 512 * 64);

        using var cache = new ModelSessionCache(shared);
        var settings = new SessionSettings { IntraOpThreads = 1 };
        using (var baseLease = cache.Acquire(baseOnnx, settings))
        using (var assistantLease = cache.Acquire(assistantOnnx, settings))
        using (var ownBase = new OnnxCausalLm(baseOnnx))
        using (var ownAssistant = new OnnxCausalLm(assistantOnnx))
        {
            Assert.Equal(Logits(ownBase), Logits(baseLease.Model));
            Assert.Equal(Logits(ownAssistant), Logits(assistantLease.Model));
        }
        Assert.Equal(0, cache.LoadedSessions);
    }

    [Fact]
    public void Same_names_with_other_bytes_are_not_shared()
    {
        // int8 and int4 packages of one model: the 8-bit table is the same in both, the layers differ in name and bytes.
        var (int8, _) = Pair("int8");
        var (int4, _) = Pair("int4");
        using (var shared = SharedWeights.Plan([int8, int4], minBytes: 1024))
        {
            string[] table = ["model.embed_tokens.weight_gather_scales", "model.embed_tokens.weight_q8", "model.embed_tokens.weight_scales"];
            Assert.Equal(table, shared.SharedNames(int8).Order(StringComparer.Ordinal));
            Assert.Equal(table, shared.SharedNames(int4).Order(StringComparer.Ordinal));
        }

        // A copy with one byte of the table's codes changed: same name and shape, other bytes — that tensor is not
        // shared, while the copy's untouched layers still are.
        var other = _temp["other"];
        Directory.CreateDirectory(other);
        File.Copy(int8, Path.Combine(other, "model.onnx"));
        var data = File.ReadAllBytes(int8 + "_data");
        var codes = ExternalInitializers.Read(int8).Single(i => i.Name == "model.embed_tokens.weight_q8");
        data[codes.Offset + 7] ^= 0x5A;
        File.WriteAllBytes(Path.Combine(other, "model.onnx_data"), data);
        using var changed = SharedWeights.Plan([int8, Path.Combine(other, "model.onnx")], minBytes: 1024);
        Assert.DoesNotContain("model.embed_tokens.weight_q8", changed.SharedNames(int8));
        Assert.Contains("model.layers.4.mlp.down_proj.weight_q8", changed.SharedNames(int8));
    }

    [Fact]
    public async Task A_server_shares_a_uld_pairs_weights_and_serves_it()
    {
        var (baseOnnx, assistantOnnx) = Pair("int8");
        await using var host = await LogitServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["LogitServer:Deployments:0:Name"] = "plain",
            ["LogitServer:Deployments:0:Kind"] = "Plain",
            ["LogitServer:Deployments:0:Model"] = _temp["base-int8"],
            ["LogitServer:Deployments:1:Name"] = "uld",
            ["LogitServer:Deployments:1:Kind"] = "Uld",
            ["LogitServer:Deployments:1:Base"] = _temp["base-int8"],
            ["LogitServer:Deployments:1:Assistant"] = _temp["assistant-int8"],
        });
        var registry = host.App.Services.GetRequiredService<DeploymentRegistry>();
        // Both deployments run serving graphs (the base's shared by both, the assistant's): two sessions. A serving
        // graph reads its model.onnx_data, so it holds every large weight of its model.onnx as the same shared map, and
        // the assistant's serving graph shares the base's table as its model.onnx does.
        Assert.Equal(2, registry.Sessions.LoadedSessions);
        Assert.Same(registry.Resolve("plain").ServingModel, registry.Resolve("uld").ServingModel);
        Assert.Contains("model.embed_tokens.weight_q8", registry.Sessions.Shared.SharedNames(assistantOnnx));
        Assert.Contains("model.embed_tokens.weight_q8", registry.Sessions.Shared.SharedNames(baseOnnx));
        Assert.Contains("model.embed_tokens.weight_q8", registry.Sessions.Shared.SharedNames(ModelDirectory.Open(_temp["assistant-int8"]).ServingOnnxPath));
        var servingOnnx = ModelDirectory.Open(_temp["base-int8"]).ServingOnnxPath;
        var large = ExternalInitializers.Read(baseOnnx).Where(i => i.Length >= SharedWeights.DefaultMinBytes).Select(i => i.Name).Order().ToList();
        Assert.NotEmpty(large);
        Assert.Equal(large, registry.Sessions.Shared.SharedNames(servingOnnx).Order());
        Assert.Equal(large, registry.Sessions.Shared.SharedNames(baseOnnx).Order());

        foreach (var model in new[] { "uld", "plain" })
        {
            var body = new JsonObject { ["model"] = model, ["prompt"] = "Once upon a time", ["max_tokens"] = 5, ["temperature"] = 0 };
            var (status, response, _) = await HttpApi.PostAsync(host.Http, "/v1/completions", body);
            Assert.Equal(200, status);
            Assert.Equal(5, response!["usage"]!["completion_tokens"]!.GetValue<int>());
        }
    }

    [Fact]
    public void Unreadable_files_share_nothing_and_leave_the_error_to_the_session_load()
    {
        var junk = _temp["junk.onnx"];
        File.WriteAllBytes(junk, [0xFF, 0xFF, 0xFF, 0x01]);
        var (int8, _) = Pair("int8");
        using var shared = SharedWeights.Plan([junk, int8, _temp["missing.onnx"]]);
        Assert.Equal(0, shared.Count);
    }

    private static float[] Logits(OnnxCausalLm model)
    {
        using var empty = model.EmptyCache(1);
        var step = model.Run([1, 37, 205, 9], [1, 1, 1, 1], [0, 1, 2, 3], 1, empty);
        step.Present.Dispose();
        return step.Logits;
    }
}
