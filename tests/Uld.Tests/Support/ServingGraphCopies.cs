using Uld.Contracts.Models;
using Uld.Trainer.Onnx;
using Uld.Trainer.Safetensors;

namespace Uld.Tests.Support;

/// <summary>
/// Copies of committed models with a serving graph added (onnx/serving.onnx, hashed into the manifest), built from
/// their model.safetensors by the exporter itself — no TorchSharp — once per test run.
/// </summary>
public static class ServingGraphCopies
{
    private static readonly Lazy<TempDirectory> Built = new(() =>
    {
        var temp = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => temp.Dispose();
        Add(RepositoryModels.Target, temp["tofu-mini-target"]);
        return temp;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary><see cref="RepositoryModels.Target"/> with its serving graph.</summary>
    public static string Target => Built.Value["tofu-mini-target"];

    private static void Add(string source, string target)
    {
        DirectoryCopy.Copy(source, target);
        var directory = ModelDirectory.Open(target);
        var graph = LlamaOnnxExporter.Build(directory.Config, SafetensorsFile.Read(directory.WeightsPath).Tensors, cache: KvCacheLayout.InPlace);
        new OnnxModelWriter().Write(graph, directory.ServingOnnxPath);
        (directory.Manifest with { Files = ModelDirectory.HashFiles(target) }).Save(Path.Combine(target, ModelManifest.FileName));
    }
}
