using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Trainer.Safetensors;

namespace Uld.Trainer.Onnx;

/// <summary>
/// One ONNX graph for a ULD pair, so that a ULD step is one session run: the base's layers and the assistant's K
/// layers read the same token embedding, both final hidden states go through one LM-head MatMul (the pair must
/// share the head), and the graph returns the base logits (the relative-top filter needs them) and
/// <c>uld_logits</c> = l_base − α·l_assistant with α an input per row. Inputs: Contract 2's, <c>uld_alpha</c>
/// [batch] and <c>assistant.past_key_values.N.key/value</c>; outputs: <c>logits</c>, <c>uld_logits</c>,
/// <c>present.N.*</c>, <c>assistant.present.N.*</c>. Assistant weights equal to the base's (the embedding, the
/// head, untouched layers of a truncated assistant) are stored once.
/// </summary>
public static class UldFusedOnnxExporter
{
    private const string AssistantValuePrefix = OnnxCausalLm.AssistantPrefix;
    private const string TailPrefix = "uld/";
    private static readonly string[] SharedInputs = ["input_ids", "attention_mask", "position_ids"];

    public static OnnxGraph Build(LlamaConfig baseConfig, IReadOnlyDictionary<string, SafeTensor> baseWeights,
        LlamaConfig assistantConfig, IReadOnlyDictionary<string, SafeTensor> assistantWeights)
    {
        if (baseConfig.VocabSize != assistantConfig.VocabSize || baseConfig.HiddenSize != assistantConfig.HiddenSize
            || baseConfig.KeyValueHeads != assistantConfig.KeyValueHeads || baseConfig.HeadDim != assistantConfig.HeadDim)
            throw new ModelFormatException("base and assistant differ in vocabulary, hidden size or KV-cache shape; they cannot share one graph.");
        var baseGraph = LlamaOnnxExporter.Build(baseConfig, baseWeights, withHead: false);
        var assistantGraph = LlamaOnnxExporter.Build(assistantConfig, assistantWeights, withHead: false);

        var baseInitializers = baseGraph.Initializers.ToDictionary(i => i.Name, StringComparer.Ordinal);
        string RenameAssistant(string name) =>
            SharedInputs.Contains(name) ? name
            : assistantGraph.Initializers.Find(i => i.Name == name) is { } init && baseInitializers.TryGetValue(name, out var same) && SameTensor(init, same) ? name
            : AssistantValuePrefix + name;
        var renameCache = new Dictionary<string, string>(StringComparer.Ordinal);
        string Assistant(string name) => renameCache.TryGetValue(name, out var r) ? r : renameCache[name] = RenameAssistant(name);

        var head = LlamaOnnxExporter.HeadWeight(baseConfig);
        if (Assistant(LlamaOnnxExporter.HeadWeight(assistantConfig)) != head)
            throw new ModelFormatException("the assistant's LM head differs from the base's, so one head MatMul cannot serve both; serve this pair with two sessions.");

        var fused = new OnnxGraph("uld_fused_decoder_with_past");
        fused.Inputs.AddRange(baseGraph.Inputs.Take(SharedInputs.Length));
        fused.Input(OnnxCausalLm.AlphaInput, OnnxType.Float, LlamaOnnxExporter.Batch);
        fused.Inputs.AddRange(baseGraph.Inputs.Skip(SharedInputs.Length));
        fused.Inputs.AddRange(assistantGraph.Inputs.Where(i => !SharedInputs.Contains(i.Name)).Select(i => OnnxGraphImport.Renamed(i, Assistant)));

        // Both graphs end at their final norm; the tail puts the one shared head over both hidden states.
        OnnxGraphImport.Nodes(fused, baseGraph, n => n);
        OnnxGraphImport.Nodes(fused, assistantGraph, Assistant);
        var tail = Tail(baseConfig);
        string RenameTail(string name) => name switch
        {
            "base_hidden" => LlamaOnnxExporter.FinalHidden,
            "assistant_hidden" => Assistant(LlamaOnnxExporter.FinalHidden),
            "head" => head,
            "logits" or OnnxCausalLm.UldLogitsOutput or OnnxCausalLm.AlphaInput => name,
            _ => TailPrefix + name,
        };
        OnnxGraphImport.Nodes(fused, tail, RenameTail);

        fused.Outputs.AddRange(tail.Outputs);
        fused.Outputs.AddRange(baseGraph.Outputs.Where(o => o.Name != LlamaOnnxExporter.FinalHidden));
        fused.Outputs.AddRange(assistantGraph.Outputs.Where(o => o.Name != LlamaOnnxExporter.FinalHidden).Select(o => OnnxGraphImport.Renamed(o, Assistant)));
        return fused;
    }

    /// <summary>
    /// The shared end of the graph: [2, batch, seq, hidden] (base, assistant) × head → both logits at once, then
    /// l_base − α·l_assistant with α broadcast over positions and vocabulary.
    /// </summary>
    private static OnnxGraph Tail(LlamaConfig c)
    {
        var g = new OnnxGraph("uld_tail");
        var stacked = g.Concat(0, g.Unsqueeze("base_hidden", 0), g.Unsqueeze("assistant_hidden", 0));
        var both = LlamaOnnxExporter.Project(g, stacked, "head", c);
        var baseLogits = g.Op("Gather", [both, g.Int64Scalar("/base_index", 0)], [new IntAttribute("axis", 0)], "logits");
        var assistantLogits = g.Op("Gather", [both, g.Int64Scalar("/assistant_index", 1)], [new IntAttribute("axis", 0)]);
        var alpha = g.Unsqueeze(OnnxCausalLm.AlphaInput, 1, 2);
        g.Op("Sub", [baseLogits, g.Mul(alpha, assistantLogits)], output: OnnxCausalLm.UldLogitsOutput);
        OnnxDim[] shape = [LlamaOnnxExporter.Batch, LlamaOnnxExporter.Sequence, c.VocabSize];
        g.Output("logits", OnnxType.Float, shape);
        g.Output(OnnxCausalLm.UldLogitsOutput, OnnxType.Float, shape);
        return g;
    }

    /// <summary>
    /// Weights are deferred (no bytes until written), so an equal name and shape prove nothing: a LoRA-merged layer
    /// keeps its base name. The values are compared, one tensor pair at a time.
    /// </summary>
    private static bool SameTensor(OnnxInitializer a, OnnxInitializer b) =>
        a.Type == b.Type && a.Dims.SequenceEqual(b.Dims) && a.ByteLength == b.ByteLength && a.Bytes().AsSpan().SequenceEqual(b.Bytes());
}
