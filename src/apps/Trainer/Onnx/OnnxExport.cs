using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using Uld.Inference;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Onnx;

/// <summary>Exports a model to ONNX and measures, rather than assumes, that the export computes the same logits.</summary>
public static class OnnxExport
{
    /// <summary>
    /// Max |logit difference| of the probe, and the same relative to the largest |logit| TorchSharp computed; with a
    /// serving graph, its max |difference| from onnx/model.onnx on the same probe, prefilled and then decoded.
    /// </summary>
    public readonly record struct Drift(double MaxAbsDiff, double Relative, double? ServingMaxAbsDiff = null);

    /// <summary>
    /// The share of the largest |logit| a float32 graph may differ by even when that exceeds the absolute bound: float32's
    /// rounding grows with the logits' scale, and an unlearned model (gradient ascent drives forget log-likelihoods to
    /// −60 and below) has logits far larger than a trained one. An export bug differs by a large fraction, not by 1e-5.
    /// </summary>
    public const double Float32RelativeBound = 1e-5;

    /// <summary>Whether float32 graphs agree: within <paramref name="maxDiff"/>, or within <see cref="Float32RelativeBound"/> of the largest |logit|.</summary>
    public static bool Float32Agrees(Drift drift, double maxDiff) => drift.MaxAbsDiff <= maxDiff || drift.Relative <= Float32RelativeBound;

    /// <summary>Writes the graph, then compares ONNX Runtime with TorchSharp on a left-padded probe batch; returns max |diff|.</summary>
    public static double ExportAndVerify(LlamaForCausalLM model, IReadOnlyDictionary<string, SafeTensor> weights, string onnxPath,
        long externalDataThreshold, double maxDiff) =>
        ExportAndVerify(model, weights, onnxPath, externalDataThreshold, maxDiff, WeightFormat.Fp32, releaseModel: false).MaxAbsDiff;

    /// <summary>
    /// As above for any <see cref="WeightFormat"/>: float32 must match within <paramref name="maxDiff"/> (or
    /// <see cref="Float32RelativeBound"/> of the largest |logit|); quantized
    /// weights within <see cref="WeightFormats.MaxRelativeDrift"/> of the largest |logit|. With
    /// <paramref name="releaseModel"/> the TorchSharp model is disposed once the file is written — its probe logits
    /// are computed first — so ONNX Runtime's copy of the weights never sits beside it (peak memory of one copy, not two).
    /// With <paramref name="servingGraph"/>, the serving graph is written beside it (<see cref="ServingPathBeside"/>;
    /// sharing its data file) when the model's head size allows one, and checked against it.
    /// </summary>
    public static Drift ExportAndVerify(LlamaForCausalLM model, IReadOnlyDictionary<string, SafeTensor> weights, string onnxPath,
        long externalDataThreshold, double maxDiff, WeightFormat format, bool releaseModel, bool servingGraph = false)
    {
        var probe = Probe.Create(model.Config.VocabSize);
        var reference = probe.TorchLogits(model);

        Directory.CreateDirectory(Path.GetDirectoryName(onnxPath)!);
        var config = model.Config;
        var graph = LlamaOnnxExporter.Build(config, weights, format);
        var writer = new OnnxModelWriter { ExternalDataThreshold = externalDataThreshold };
        writer.Write(graph, onnxPath, out var data);
        var servingPath = servingGraph && ServingGraph.Supports(config.HeadDim) ? ServingPathBeside(onnxPath) : null;
        if (servingPath is not null)
        {
            var serving = LlamaOnnxExporter.Build(config, weights, format, cache: KvCacheLayout.InPlace);
            if (data is null) writer.Write(serving, servingPath);
            else writer.WriteSharing(serving, servingPath, data);
        }
        if (releaseModel)
        {
            model.Dispose();
            GC.Collect();
        }

        var onnxLogits = probe.OnnxLogits(onnxPath);
        var drift = probe.Compare(reference, onnxLogits);
        var ok = format == WeightFormat.Fp32 ? Float32Agrees(drift, maxDiff) : drift.Relative <= format.MaxRelativeDrift();
        if (!ok)
        {
            var bound = format == WeightFormat.Fp32 ? $"{maxDiff:G3}, or {Float32RelativeBound:G3} of the largest |logit|" : $"{format.MaxRelativeDrift():G3} of the largest |logit|";
            throw new ModelFormatException($"ONNX export ({format}) differs from TorchSharp by {drift.MaxAbsDiff:G3} (relative {drift.Relative:G3}; bound {bound}); refusing to write it.");
        }
        if (servingPath is null) return drift;

        // The serving graph must compute what model.onnx computes: the same kernels but for attention, so float32's bound
        // holds whatever the weights' format.
        var servingDrift = probe.Compare(onnxLogits, probe.ServingLogits(servingPath));
        if (!Float32Agrees(servingDrift, maxDiff))
            throw new ModelFormatException($"the serving graph ({format}) differs from onnx/model.onnx by {servingDrift.MaxAbsDiff:G3} (relative {servingDrift.Relative:G3}; bound {maxDiff:G3}, or {Float32RelativeBound:G3} of the largest |logit|); refusing to write it.");
        return drift with { ServingMaxAbsDiff = servingDrift.MaxAbsDiff };
    }

    /// <summary>Where the serving graph of a model.onnx goes: <c>serving.onnx</c> in the same folder (<see cref="ModelDirectory.ServingOnnxFile"/>).</summary>
    public static string ServingPathBeside(string onnxPath) =>
        Path.Combine(Path.GetDirectoryName(onnxPath)!, Path.GetFileName(ModelDirectory.ServingOnnxFile));

    public static double ProbeDifference(LlamaForCausalLM model, string onnxPath) => ProbeDrift(model, onnxPath).MaxAbsDiff;

    public static Drift ProbeDrift(LlamaForCausalLM model, string onnxPath)
    {
        var probe = Probe.Create(model.Config.VocabSize);
        return probe.Compare(probe.TorchLogits(model), probe.OnnxLogits(onnxPath));
    }

    /// <summary>
    /// Two rows of deterministic pseudo-random tokens, the second left-padded by 3; compared over non-padding positions.
    /// </summary>
    private sealed record Probe(long[] Ids, long[] Mask, long[] Positions, int Vocab)
    {
        private const int Batch = 2, Sequence = 12, Padding = 3;

        public static Probe Create(int vocab)
        {
            var (ids, mask, positions) = (new long[Batch * Sequence], new long[Batch * Sequence], new long[Batch * Sequence]);
            for (var b = 0; b < Batch; b++)
            {
                var padding = b == 1 ? Padding : 0;
                for (var t = 0; t < Sequence; t++)
                {
                    var i = b * Sequence + t;
                    var real = t >= padding;
                    ids[i] = real ? (7919L * (i + 1) + 13) % vocab : 0;
                    mask[i] = real ? 1 : 0;
                    positions[i] = real ? t - padding : 1;
                }
            }
            return new Probe(ids, mask, positions, vocab);
        }

        public float[] TorchLogits(LlamaForCausalLM model)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (logits, _) = model.Forward(tensor(Ids, [Batch, Sequence]), tensor(Mask, [Batch, Sequence]), tensor(Positions, [Batch, Sequence]));
            return logits.contiguous().data<float>().ToArray();
        }

        public float[] OnnxLogits(string onnxPath)
        {
            // One 24-token run: MatMul weights are not prepacked, since at 1B the packed copies would sit beside the
            // memory-mapped originals while the session loads, the peak of the whole export.
            using var options = OnnxCausalLm.Quiet(new Microsoft.ML.OnnxRuntime.SessionOptions());
            options.AddSessionConfigEntry("session.disable_prepacking", "1");
            using var session = new OnnxCausalLm(onnxPath, options);
            using var empty = session.EmptyCache(Batch);
            var step = session.Run(Ids, Mask, Positions, Batch, empty);
            step.Present.Dispose();
            return step.Logits;
        }

        /// <summary>
        /// The same rows through the serving graph, each in its own slot: the first half of each row prefilled, the
        /// rest decoded one token per step for every row that still has one, so rows of different lengths share steps.
        /// </summary>
        public float[] ServingLogits(string servingPath)
        {
            using var options = OnnxCausalLm.Quiet(new Microsoft.ML.OnnxRuntime.SessionOptions());
            options.AddSessionConfigEntry("session.disable_prepacking", "1");
            using var session = new ServingCausalLm(servingPath, options);
            using var slots = session.CreateSlots(Batch, Sequence);
            var logits = new float[Batch * Sequence * Vocab];
            var rows = Enumerable.Range(0, Batch).Select(b => Enumerable.Range(0, Sequence).Where(t => Mask[b * Sequence + t] == 1).ToArray()).ToArray();
            var done = new int[Batch];
            for (var b = 0; b < Batch; b++)
            {
                slots.TryAcquire(out var slot);
                done[b] = rows[b].Length / 2;
                var step = session.Extend(slots, slot, rows[b][..done[b]].Select(t => (int)Ids[b * Sequence + t]).ToArray(), LogitPositions.All);
                for (var i = 0; i < done[b]; i++) step.Row(0, i).CopyTo(logits.AsSpan((b * Sequence + rows[b][i]) * Vocab, Vocab));
            }
            while (true)
            {
                var active = Enumerable.Range(0, Batch).Where(b => done[b] < rows[b].Length).ToList();
                if (active.Count == 0) return logits;
                var step = session.Decode(slots, active, active.Select(b => (int)Ids[b * Sequence + rows[b][done[b]]]).ToList());
                for (var i = 0; i < active.Count; i++)
                {
                    var b = active[i];
                    step.Row(i, 0).CopyTo(logits.AsSpan((b * Sequence + rows[b][done[b]++]) * Vocab, Vocab));
                }
            }
        }

        public Drift Compare(float[] reference, float[] actual)
        {
            double max = 0, largest = 0;
            for (var i = 0; i < Batch * Sequence; i++)
            {
                if (Mask[i] == 0) continue;
                for (var v = 0; v < Vocab; v++)
                {
                    var d = Math.Abs(actual[i * Vocab + v] - reference[i * Vocab + v]);
                    if (double.IsNaN(d)) return new Drift(double.NaN, double.NaN);
                    max = Math.Max(max, d);
                    largest = Math.Max(largest, Math.Abs(reference[i * Vocab + v]));
                }
            }
            return new Drift(max, largest > 0 ? max / largest : max);
        }
    }
}
