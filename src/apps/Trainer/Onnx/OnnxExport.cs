using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using Uld.Inference;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Onnx;

/// <summary>Exports a model to ONNX and measures, rather than assumes, that the export computes the same logits.</summary>
public static class OnnxExport
{
    /// <summary>Writes the graph, then compares ONNX Runtime with TorchSharp on a left-padded probe batch; returns max |diff|.</summary>
    public static double ExportAndVerify(LlamaForCausalLM model, IReadOnlyDictionary<string, SafeTensor> weights, string onnxPath,
        long externalDataThreshold, double maxDiff)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(onnxPath)!);
        var graph = LlamaOnnxExporter.Build(model.Config, weights);
        new OnnxModelWriter { ExternalDataThreshold = externalDataThreshold }.Write(graph, onnxPath);

        var diff = ProbeDifference(model, onnxPath);
        if (!(diff <= maxDiff))
            throw new ModelFormatException($"ONNX export differs from TorchSharp by {diff:G3} (bound {maxDiff:G3}); refusing to write it.");
        return diff;
    }

    /// <summary>
    /// Two rows of deterministic pseudo-random tokens, the second left-padded by 3; max |diff| of logits over
    /// non-padding positions.
    /// </summary>
    public static double ProbeDifference(LlamaForCausalLM model, string onnxPath)
    {
        const int batch = 2, seq = 12, pad = 3;
        var vocab = model.Config.VocabSize;
        var ids = new long[batch * seq];
        var mask = new long[batch * seq];
        var positions = new long[batch * seq];
        for (var b = 0; b < batch; b++)
        {
            var padding = b == 1 ? pad : 0;
            for (var t = 0; t < seq; t++)
            {
                var i = b * seq + t;
                var real = t >= padding;
                ids[i] = real ? (7919L * (i + 1) + 13) % vocab : 0;
                mask[i] = real ? 1 : 0;
                positions[i] = real ? t - padding : 1;
            }
        }

        using var session = new OnnxCausalLm(onnxPath);
        using var empty = session.EmptyCache(batch);
        var step = session.Run(ids, mask, positions, batch, empty);
        step.Present.Dispose();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (logits, _) = model.Forward(tensor(ids, [batch, seq]), tensor(mask, [batch, seq]), tensor(positions, [batch, seq]));
        var torchLogits = logits.contiguous().data<float>().ToArray();

        double max = 0;
        for (var i = 0; i < batch * seq; i++)
        {
            if (mask[i] == 0) continue;
            for (var v = 0; v < vocab; v++)
            {
                var d = Math.Abs(step.Logits[i * vocab + v] - torchLogits[i * vocab + v]);
                if (double.IsNaN(d)) return double.NaN;
                max = Math.Max(max, d);
            }
        }
        return max;
    }
}
