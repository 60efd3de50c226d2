using Uld.Contracts.Models;
using Uld.Trainer.Import;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;

namespace Uld.Tests.Support;

/// <summary>
/// stories260K imported once per test run, with 2- and 3-layer truncations of it as stand-in ULD assistants; all are
/// read, never written, by the tests. Building them is the only TorchSharp work outside <see cref="TorchSharpCollection"/>:
/// whoever asks first builds them and everyone else waits, so it never overlaps another TorchSharp test (that
/// collection's fixture asks before its first test runs).
/// </summary>
public static class Stories260KModels
{
    private static readonly Lazy<TempDirectory> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string BaseDirectory => Built.Value["stories260K"];
    public static string AssistantDirectory => Built.Value["assistant"];
    /// <summary>Another assistant of the same base (3 layers): built here so that no test outside the collection runs TorchSharp.</summary>
    public static string ThreeLayerAssistantDirectory => Built.Value["assistant-k3"];

    private static TempDirectory Build()
    {
        var temp = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => temp.Dispose();
        TorchRuntime.EnsureInitialized();
        ModelImporter.ImportLlama2c(SharedPaths.Stories260KCheckpoint, SharedPaths.Stories260KTokenizer, temp["stories260K"], "stories260K", new ModelPackage.Options());
        LayerTruncation.WriteAssistant(ModelDirectory.Open(temp["stories260K"]), layers: 2, temp["assistant"], overwrite: false);
        LayerTruncation.WriteAssistant(ModelDirectory.Open(temp["stories260K"]), layers: 3, temp["assistant-k3"], overwrite: false);
        return temp;
    }
}
