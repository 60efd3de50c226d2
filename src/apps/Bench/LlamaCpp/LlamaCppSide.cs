using Uld.Cli;
using Uld.Contracts;
using Uld.Contracts.Models;

namespace Uld.Bench.LlamaCpp;

/// <summary>
/// llama.cpp as one side of a benchmark: the reference to measure, or the one-line reason its rows are skipped (no
/// Node.js, a model llama2.c cannot hold, a script that failed mid-run). A benchmark never fails because of it.
/// </summary>
public sealed class LlamaCppSide : IDisposable
{
    private readonly string? _workDirectory;

    private LlamaCppSide(LlamaCppReference? reference, string? skipReason, string? workDirectory)
    {
        Reference = reference;
        SkipReason = skipReason;
        _workDirectory = workDirectory;
    }

    /// <summary>The reference, while it is measured; null once skipped.</summary>
    public LlamaCppReference? Reference { get; private set; }
    public string? SkipReason { get; private set; }

    public static LlamaCppSide Skipped(string reason) => new(null, reason, null);

    /// <summary>Stops measuring after a failed run; the rows say why.</summary>
    public void Fail(UserErrorException e)
    {
        Reference?.Dispose();
        Reference = null;
        SkipReason = $"a llama.cpp run failed: {e.Message}";
    }

    /// <summary>
    /// llama.cpp on the base that <c>uld-bench serve</c> serves, in the llama.cpp type of the base's weight format: from
    /// <paramref name="llama2c"/> when the base's weights are given as a llama2.c checkpoint, else exported from the
    /// base's training weights by <c>uld-trainer export-llama2c</c>. Everything is written under a temporary directory,
    /// deleted on dispose.
    /// </summary>
    public static LlamaCppSide ForModel(string toolsDirectory, string baseDir, (string Checkpoint, string Tokenizer)? llama2c, string trainerDll, Action<string> status)
    {
        var work = Path.Combine(Path.GetTempPath(), $"uld-bench-llamacpp-{Environment.ProcessId}");
        try
        {
            var tools = LlamaCppTools.Open(toolsDirectory, status);
            var model = ModelDirectory.Open(baseDir, verifyHashes: false);
            var format = WeightFormat(model);
            var (checkpoint, tokenizer) = llama2c ?? Export(trainerDll, model, work, status);
            status($"llama.cpp: converting {Path.GetFileName(checkpoint)} to GGUF {LlamaCppReference.TypeFor(format)}");
            var reference = LlamaCppReference.Convert(tools, checkpoint, tokenizer, format, Path.Combine(work, $"model-{LlamaCppReference.TypeFor(format)}.gguf"));
            return new LlamaCppSide(reference, null, work);
        }
        catch (UserErrorException e)
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
            return Skipped(e.Message);
        }
    }

    /// <summary>The weight format a model directory's ONNX export was written in (its manifest's <c>source.onnx_export.weights</c>).</summary>
    public static string WeightFormat(ModelDirectory model) =>
        model.Manifest.Source?["onnx_export"]?["weights"]?.GetValue<string>() ?? "fp32";

    private static (string, string) Export(string trainerDll, ModelDirectory model, string work, Action<string> status)
    {
        if (!File.Exists(model.WeightsPath))
            throw new UserErrorException($"{model.Root} has no {ModelDirectory.WeightsFile} (a serving package) to export for llama.cpp; pass its weights as --llama2c CHECKPOINT --llama2c-tokenizer TOKENIZER.");
        status($"llama.cpp: exporting {model.Root} as a llama2.c checkpoint (uld-trainer export-llama2c)");
        return Llama2cExport.Write(AppLocator.Require(new FileInfo(trainerDll), "Trainer"), model.Root, work, "base");
    }

    public void Dispose()
    {
        Reference?.Dispose();
        if (_workDirectory is not null && Directory.Exists(_workDirectory)) Directory.Delete(_workDirectory, recursive: true);
    }
}
