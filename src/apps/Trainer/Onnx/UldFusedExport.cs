using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Trainer.Safetensors;

namespace Uld.Trainer.Onnx;

/// <summary>
/// Writes the fused ULD graph of a (base, assistant) pair and measures, against the two Contract 2 sessions of
/// the pair, that it computes the same base logits and the same l_base − α·l_assistant before keeping it.
/// </summary>
public static class UldFusedExport
{
    /// <summary>The fused graph must match the two-session ULD logits this closely (max |diff|).</summary>
    public const double ParityBound = 1e-4;

    /// <summary>
    /// Writes <paramref name="output"/> (and, past <paramref name="externalDataThreshold"/> bytes of weights, its
    /// data file <c>&lt;output&gt;_data</c>) once the parity check passes; returns the measured max |diff|.
    /// </summary>
    public static double ExportAndVerify(ModelDirectory baseDirectory, ModelDirectory assistantDirectory, string output,
        long externalDataThreshold = OnnxModelWriter.DefaultExternalDataThreshold)
    {
        var graph = UldFusedOnnxExporter.Build(baseDirectory.Config, SafetensorsFile.Read(baseDirectory.WeightsPath).Tensors,
            assistantDirectory.Config, SafetensorsFile.Read(assistantDirectory.WeightsPath).Tensors);
        output = Path.GetFullPath(output);
        var folder = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(folder);
        // A graph names its data file, so both are staged under their final names in a sibling folder (same file
        // system) and renamed into place only after the parity check: the data file first, the graph last.
        var staging = Directory.CreateDirectory(Path.Combine(folder, $".{Path.GetFileName(output)}.{Guid.NewGuid():N}")).FullName;
        try
        {
            var staged = Path.Combine(staging, Path.GetFileName(output));
            var written = new OnnxModelWriter
            {
                ExternalDataThreshold = externalDataThreshold,
                Metadata = new Dictionary<string, string>
                {
                    // The server checks these against the pair's manifests, so a fused graph is never served with other models.
                    [OnnxCausalLm.FusedBaseHashKey] = OnnxHash(baseDirectory),
                    [OnnxCausalLm.FusedAssistantHashKey] = OnnxHash(assistantDirectory),
                },
            }.Write(graph, staged);
            var diff = MaxDifference(staged, baseDirectory.OnnxPath, assistantDirectory.OnnxPath);
            if (!(diff <= ParityBound))
                throw new ModelFormatException($"the fused ULD graph differs from the two-session logits by {diff:G3} (bound {ParityBound:G3}); refusing to write it.");
            var dataFile = output + "_data";
            if (written.Count > 1) File.Move(staged + "_data", dataFile, overwrite: true);
            File.Move(staged, output, overwrite: true);
            // A data file left by an earlier, larger fuse to the same path no longer belongs to any graph.
            if (written.Count == 1 && File.Exists(dataFile)) File.Delete(dataFile);
            return diff;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static string OnnxHash(ModelDirectory directory) =>
        directory.Manifest.Files.GetValueOrDefault(ModelDirectory.OnnxFile)
        ?? throw new ModelFormatException($"{directory.Root}: the manifest lists no {ModelDirectory.OnnxFile}.");

    /// <summary>
    /// Max |diff| between the fused graph and the pair's two sessions over a left-padded two-row prefill (every
    /// position) and three cached decode steps, at a different α per row: base logits and l_base − α·l_assistant.
    /// </summary>
    public static double MaxDifference(string fusedPath, string basePath, string assistantPath)
    {
        using var fused = new OnnxCausalLm(fusedPath);
        using var baseModel = new OnnxCausalLm(basePath);
        using var assistant = new OnnxCausalLm(assistantPath);
        const int batch = 2, seq = 9, pad = 3;
        float[] alpha = [0.8f, 1.7f];
        var vocab = baseModel.Vocab;
        var (ids, mask, positions) = (new long[batch * seq], new long[batch * seq], new long[batch * seq]);
        for (var i = 0; i < ids.Length; i++)
        {
            var (row, t) = (i / seq, i % seq);
            var padding = row == 1 ? pad : 0;
            (ids[i], mask[i], positions[i]) = t < padding ? (0L, 0L, 1L) : ((7919L * (i + 1) + 13) % vocab, 1L, t - padding);
        }

        double max = 0;
        var (fusedCache, baseCache, assistantCache) = (fused.EmptyCache(batch), baseModel.EmptyCache(batch), assistant.EmptyCache(batch));
        try
        {
            for (var step = 0; step < 4; step++)
            {
                var f = fused.Run(ids, mask, positions, batch, fusedCache, LogitPositions.All, alpha);
                var b = baseModel.Run(ids, mask, positions, batch, baseCache);
                var a = assistant.Run(ids, mask, positions, batch, assistantCache);
                (fusedCache, baseCache, assistantCache) = Replace((fusedCache, baseCache, assistantCache), (f.Present, b.Present, a.Present));
                var length = ids.Length / batch;
                for (var r = 0; r < batch; r++)
                {
                    for (var t = 0; t < length; t++)
                    {
                        if (mask[r * mask.Length / batch + mask.Length / batch - length + t] == 0) continue;
                        ReadOnlySpan<float> fb = f.Row(r, t), fu = f.UldRow(r, t), bb = b.Row(r, t), ab = a.Row(r, t);
                        for (var v = 0; v < vocab; v++)
                        {
                            max = Math.Max(max, Math.Max(Math.Abs(fb[v] - bb[v]), Math.Abs(fu[v] - (bb[v] - alpha[r] * ab[v]))));
                            if (double.IsNaN(fu[v]) || double.IsNaN(fb[v])) return double.NaN;
                        }
                    }
                }
                // Next step: each row's greedy token of the base, one position on.
                var total = fusedCache.Length;
                var nextIds = Enumerable.Range(0, batch).Select(r => (long)GreedyDecoder.ArgMax(b.Row(r, length - 1))).ToArray();
                var nextPositions = Enumerable.Range(0, batch).Select(r => positions[r * length + length - 1] + 1).ToArray();
                var nextMask = new long[batch * (total + 1)];
                for (var r = 0; r < batch; r++)
                {
                    for (var t = 0; t <= total; t++) nextMask[r * (total + 1) + t] = t < total ? mask[r * total + t] : 1;
                }
                (ids, positions, mask) = (nextIds, nextPositions, nextMask);
            }
        }
        finally
        {
            fusedCache.Dispose();
            baseCache.Dispose();
            assistantCache.Dispose();
        }
        return max;
    }

    private static (KvCache, KvCache, KvCache) Replace((KvCache, KvCache, KvCache) old, (KvCache, KvCache, KvCache) next)
    {
        old.Item1.Dispose();
        old.Item2.Dispose();
        old.Item3.Dispose();
        return next;
    }
}
