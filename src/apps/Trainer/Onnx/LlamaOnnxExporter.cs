using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Trainer.Safetensors;
using Uld.Trainer.Model;

namespace Uld.Trainer.Onnx;

/// <summary>
/// Builds the graph of docs/DESIGN.md, *Contract 2: ONNX I/O*, of a Llama decoder from its config and Hugging Face-named weights: Optimum's
/// "decoder with past" I/O (input_ids, attention_mask, position_ids, past_key_values.N.key/value → logits,
/// present.N.key/value), dynamic batch and lengths, standard opset-17 operators only, so any ONNX Runtime runs it.
/// The operation order mirrors <see cref="LlamaForCausalLM"/>.
/// </summary>
public static class LlamaOnnxExporter
{
    public const string Batch = "batch_size";
    public const string Sequence = "sequence_length";
    public const string Past = "past_sequence_length";
    public const string Total = "total_sequence_length";
    /// <summary>The output of a graph built without its head: the final norm's output, [batch, seq, hidden].</summary>
    public const string FinalHidden = "final_hidden";
    /// <summary>
    /// An overridable initializer (a graph input with a default, int64 scalar 0): set to 1, the head runs on each row's
    /// last position only and <c>logits</c> is [batch, 1, vocab]. Prefill samples from the last position alone, and at a
    /// 128K vocabulary the head over every position of a 2,048-token prompt is 1 GB of logits and a fifth of the
    /// arithmetic. Left at its default the graph is Optimum's, every position scored.
    /// </summary>
    public const string LogitsLastOnly = OnnxCausalLm.LogitsLastOnlyInput;
    /// <summary>The logits' position dimension: the sequence, or 1 with <see cref="LogitsLastOnly"/>.</summary>
    public const string LogitsLength = "logits_length";
    private const string EmbeddingWeight = "model.embed_tokens.weight";
    private const string LmHeadWeight = "lm_head.weight";

    /// <param name="format">
    /// How the decoder layers' linear weights are stored: float32 MatMul, or block-quantized com.microsoft MatMulNBits
    /// (with GatherBlockQuantized, the only non-standard operators the exporter writes). The embedding and LM head go
    /// to 8-bit tables whatever the layers' bits (<see cref="QuantizedTable"/>; a tied table is stored once and read by
    /// both), or stay float32 where the hidden size is not a multiple of the block.
    /// Only float32 graphs are built without their head.
    /// </param>
    /// <param name="withHead">
    /// False stops at the final norm and outputs <see cref="FinalHidden"/> instead of logits: the ULD fused graph puts
    /// one shared head (<see cref="Project"/>) over the base's and the assistant's hidden states.
    /// </param>
    /// <param name="compute">What the quantized layers multiply in (MatMulNBits' accuracy_level); ignored for float32.</param>
    /// <param name="cache">
    /// <see cref="KvCacheLayout.Concat"/>: Contract 2, the graph above. <see cref="KvCacheLayout.InPlace"/>: the serving
    /// graph — the same weights (same initializer names and bytes, so both graphs can read one data file) and the same
    /// operation order, but attention is one GroupQueryAttention node per layer over a preallocated cache.
    /// </param>
    public static OnnxGraph Build(LlamaConfig c, IReadOnlyDictionary<string, SafeTensor> weights, WeightFormat format = WeightFormat.Fp32,
        bool withHead = true, QuantizedCompute compute = QuantizedCompute.Int8, KvCacheLayout cache = KvCacheLayout.Concat)
    {
        c.Validate();
        if (!withHead && format != WeightFormat.Fp32) throw new ArgumentException("the fused ULD graph's shared head is float32; build its halves in Fp32.", nameof(format));
        var inPlace = cache == KvCacheLayout.InPlace;
        if (inPlace && !withHead) throw new ArgumentException("the serving graph is built with its head.", nameof(withHead));
        if (inPlace && !ServingGraph.Supports(c.HeadDim))
            throw new ArgumentException($"GroupQueryAttention needs a head size that is a multiple of 8; this model's is {c.HeadDim}.", nameof(cache));
        var g = new OnnxGraph(inPlace ? "llama_decoder_in_place_cache" : "llama_decoder_with_past");
        var (heads, kvHeads, headDim) = (c.NumAttentionHeads, c.KeyValueHeads, c.HeadDim);

        var inputIds = g.Input("input_ids", OnnxType.Int64, Batch, Sequence);
        var attentionMask = inPlace ? null : g.Input("attention_mask", OnnxType.Int64, Batch, Total);
        var positionIds = g.Input("position_ids", OnnxType.Int64, Batch, Sequence);
        var seqlensK = inPlace ? g.Input(ServingGraph.SeqlensK, OnnxType.Int32, Batch) : null;
        var totalSequenceLength = inPlace ? g.Input(ServingGraph.TotalSequenceLength, OnnxType.Int32) : null;
        OnnxDim cacheLength = inPlace ? ServingGraph.MaxLength : Past;
        var past = new (string Key, string Value)[c.NumHiddenLayers];
        for (var i = 0; i < past.Length; i++)
        {
            past[i] = (g.Input($"past_key_values.{i}.key", OnnxType.Float, Batch, kvHeads, cacheLength, headDim),
                g.Input($"past_key_values.{i}.value", OnnxType.Float, Batch, kvHeads, cacheLength, headDim));
        }

        // Weights are read from `weights` only when the writer streams them out, one tensor at a time.
        // Each produces exactly one new buffer at most (none for an F32 tensor kept as is): the writer runs beside the
        // whole TorchSharp model, so a float[] plus a byte[] copy of a 1 GB embedding would cost 2 GB more at the peak.
        string Weight(string name)
        {
            var shape = weights.ShapeOf(name);
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * sizeof(float);
            return weights is ITensorWriter writer
                ? g.StreamedBytes(name, OnnxType.Float, shape, bytes, stream => writer.WriteFloat32(name, stream))
                : g.DeferredBytes(name, OnnxType.Float, shape, bytes, () => Tensor(weights, name).Float32Bytes());
        }
        // Linear layers multiply by Wᵀ; storing the transpose avoids a Transpose node per layer at load time.
        string LinearWeight(string name)
        {
            var shape = weights.ShapeOf(name);
            return g.DeferredBytes(TransposedName(name), OnnxType.Float, [shape[1], shape[0]], shape[0] * shape[1] * sizeof(float),
                () => Transposed(Tensor(weights, name), (int)shape[0], (int)shape[1]));
        }

        string Linear(string x, string name) => format == WeightFormat.Fp32
            ? g.MatMul(x, LinearWeight(name))
            : QuantizedLinear(g, x, name, weights.ShapeOf(name), () => Tensor(weights, name).ToFloats(), format.Bits(), compute);

        var eps = g.FloatScalar("rms_norm_eps", (float)c.RmsNormEps);
        var two = g.FloatScalar("two", 2f);
        // Written as Pow → ReduceMean → Add → Sqrt → Div → Mul, the pattern ONNX Runtime fuses into one
        // SimplifiedLayerNormalization kernel: on small models per-operator overhead, not arithmetic, bounds a step.
        string RmsNorm(string x, string weightName) =>
            g.Mul(g.Div(x, g.Sqrt(g.Add(g.ReduceMean(g.Pow(x, two), -1), eps))), Weight(weightName));

        var sequenceLength = g.Shape(inputIds, 1, 2);
        var one = g.Int64Scalar("/one", 1);
        string? mask = null, maskedScore = null, scale = null;
        if (attentionMask is not null)
        {
            // Mask [batch, 1, seq, total]: query i (absolute position past + i) sees key j when j ≤ past + i and j is not padding.
            var pastLength = g.Shape(past[0].Key, 2, 3);
            var totalLength = g.Add(pastLength, sequenceLength);
            var keyPositions = g.Range(g.Int64Scalar("/zero", 0), g.Squeeze(totalLength, 0), one);
            var queryPositions = g.Unsqueeze(g.Range(g.Squeeze(pastLength, 0), g.Squeeze(totalLength, 0), one), 1);
            var causal = g.LessOrEqual(keyPositions, queryPositions);
            var notPadding = g.Unsqueeze(g.Cast(attentionMask, OnnxType.Bool), 1, 2);
            mask = g.And(causal, notPadding);
            maskedScore = g.FloatScalar("masked_score", LlamaAttention.MaskedScore);
            scale = g.FloatScalar("attention_scale", (float)(1.0 / Math.Sqrt(headDim)));
        }

        // Rotary angles from position ids: [batch, 1, seq, head_dim] against [batch, heads, seq, head_dim], or
        // [batch, seq, 1, head_dim] against the serving graph's [batch, seq, heads, head_dim]. The serving graph rotates
        // with these nodes rather than GroupQueryAttention's do_rotary, whose CPU kernel needs head sizes that are
        // multiples of 16 (stories260K's is 8) and positions derived from seqlens_k.
        var inverseFrequencies = g.Initializer("rope_inv_freq", RotaryEmbedding.InverseFrequencies(c), headDim / 2);
        var freqs = g.Mul(g.Unsqueeze(g.Cast(positionIds, OnnxType.Float), -1), inverseFrequencies);
        var angles = g.Unsqueeze(g.Concat(-1, freqs, freqs), inPlace ? 2 : 1);
        var (cos, sin) = (g.Cos(angles), g.Sin(angles));
        string Rotate(string x)
        {
            var rotated = g.Concat(-1, g.Neg(g.Slice(x, headDim / 2, headDim, 3)), g.Slice(x, 0, headDim / 2, 3));
            return g.Add(g.Mul(x, cos), g.Mul(rotated, sin));
        }
        string RepeatKv(string x) => heads == kvHeads
            ? x
            : g.Reshape(g.Expand(g.Unsqueeze(x, 2), 1, 1, heads / kvHeads, 1, 1), 0, heads, -1, headDim);

        var quantizedTables = format != WeightFormat.Fp32 && QuantizedTable.Supports(c.HiddenSize);
        var embedding = quantizedTables
            ? QuantizedTable.Add(g, weights, EmbeddingWeight, c.VocabSize, c.HiddenSize, gather: true, head: c.TieWordEmbeddings)
            : null;
        var hidden = embedding is not null ? QuantizedTable.Gather(g, embedding, inputIds, c.HiddenSize) : g.Gather(Weight(EmbeddingWeight), inputIds);
        for (var i = 0; i < c.NumHiddenLayers; i++)
        {
            var p = $"model.layers.{i}.";
            var x = RmsNorm(hidden, p + "input_layernorm.weight");
            // [batch, seq, hidden] → [batch, n, seq, head_dim], with the family's bias and per-head norm (Qwen2, Qwen3),
            // rotated when asked; the serving graph keeps [batch, seq, n·head_dim], GroupQueryAttention's layout.
            string Project(string name, int n, string? norm, bool rotate)
            {
                var projected = Linear(x, p + $"self_attn.{name}.weight");
                if (c.QkvBias) projected = g.Add(projected, Weight(p + $"self_attn.{name}.bias"));
                var normed = c.QkNorm && norm is not null;
                if (inPlace && !normed && !rotate) return projected;
                var perHead = g.Reshape(projected, 0, 0, n, headDim);
                if (normed) perHead = RmsNorm(perHead, p + $"self_attn.{norm}.weight");
                if (inPlace) return g.Reshape(rotate ? Rotate(perHead) : perHead, 0, 0, n * headDim);
                var transposed = g.Transpose(perHead, 0, 2, 1, 3);
                return rotate ? Rotate(transposed) : transposed;
            }
            var q = Project("q_proj", heads, "q_norm", rotate: true);
            string context;
            if (inPlace)
            {
                // Writes this step's keys and values into the cache at each row's seqlens_k − seq + 1 and attends causally
                // over that row's first seqlens_k + 1 positions; [batch, seq, heads·head_dim] out.
                var attention = g.Ops("GroupQueryAttention",
                    [q, Project("k_proj", kvHeads, "k_norm", rotate: true), Project("v_proj", kvHeads, null, rotate: false),
                        past[i].Key, past[i].Value, seqlensK!, totalSequenceLength!],
                    [null, ServingGraph.PresentKey(i), ServingGraph.PresentValue(i)],
                    [new IntAttribute("num_heads", heads), new IntAttribute("kv_num_heads", kvHeads)], OnnxModelWriter.ContribDomain);
                g.Output(attention[1], OnnxType.Float, Batch, kvHeads, ServingGraph.MaxLength, headDim);
                g.Output(attention[2], OnnxType.Float, Batch, kvHeads, ServingGraph.MaxLength, headDim);
                context = attention[0];
            }
            else
            {
                var k = g.Op("Concat", [past[i].Key, Project("k_proj", kvHeads, "k_norm", rotate: true)], [new IntAttribute("axis", 2)], $"present.{i}.key");
                var v = g.Op("Concat", [past[i].Value, Project("v_proj", kvHeads, null, rotate: false)], [new IntAttribute("axis", 2)], $"present.{i}.value");
                g.Output(k, OnnxType.Float, Batch, kvHeads, Total, headDim);
                g.Output(v, OnnxType.Float, Batch, kvHeads, Total, headDim);

                var scores = g.Mul(g.MatMul(q, g.Transpose(RepeatKv(k), 0, 1, 3, 2)), scale!);
                var probabilities = g.Softmax(g.Where(mask!, scores, maskedScore!), -1);
                context = g.Reshape(g.Transpose(g.MatMul(probabilities, RepeatKv(v)), 0, 2, 1, 3), 0, 0, heads * headDim);
            }
            var attended = Linear(context, p + "self_attn.o_proj.weight");
            if (c.OutputBias) attended = g.Add(attended, Weight(p + "self_attn.o_proj.bias"));
            hidden = g.Add(hidden, attended);

            var h = RmsNorm(hidden, p + "post_attention_layernorm.weight");
            var gate = Linear(h, p + "mlp.gate_proj.weight");
            var up = Linear(h, p + "mlp.up_proj.weight");
            hidden = g.Add(hidden, Linear(g.Mul(g.Mul(gate, g.Sigmoid(gate)), up), p + "mlp.down_proj.weight"));
        }

        var normed = RmsNorm(hidden, "model.norm.weight");
        if (withHead)
        {
            // Positions [(seq − 1)·last_only, seq): all of them by default, the last one on request.
            g.Input(LogitsLastOnly, OnnxType.Int64);
            g.Initializers.Add(new OnnxInitializer(LogitsLastOnly, OnnxType.Int64, [], BitConverter.GetBytes(0L)));
            var first = g.Mul(g.Sub(sequenceLength, one), LogitsLastOnly);
            normed = g.Op("Slice", [normed, first, sequenceLength, g.Int64s("/logit_axes", 1)]);
        }
        if (quantizedTables)
        {
            var head = c.TieWordEmbeddings ? embedding! : QuantizedTable.Add(g, weights, LmHeadWeight, c.VocabSize, c.HiddenSize, gather: false, head: true);
            QuantizedTable.Head(g, head, normed, c.VocabSize, c.HiddenSize, compute, output: "logits");
        }
        else if (withHead) Project(g, normed, c.TieWordEmbeddings ? EmbeddingWeight : LinearWeight(LmHeadWeight), c, output: "logits");
        else
        {
            if (!c.TieWordEmbeddings) LinearWeight(LmHeadWeight); // the fused graph's one head reads it by HeadWeight(c)
            g.Op("Identity", [normed], output: FinalHidden);
        }
        // Logits (or the final hidden state) first, then present.* in layer order, as Optimum lists them.
        g.Outputs.Insert(0, withHead
            ? new OnnxValueInfo("logits", OnnxType.Float, [Batch, LogitsLength, c.VocabSize])
            : new OnnxValueInfo(FinalHidden, OnnxType.Float, [Batch, Sequence, c.HiddenSize]));
        return g;
    }

    /// <summary>
    /// The name of the LM head's weight initializer (present even in a graph built without its head): the embedding
    /// table itself when tied, else <c>lm_head</c>'s Wᵀ.
    /// </summary>
    public static string HeadWeight(LlamaConfig c) => c.TieWordEmbeddings ? EmbeddingWeight : TransposedName(LmHeadWeight);

    /// <summary>The initializer holding Wᵀ of a linear weight.</summary>
    private static string TransposedName(string weight) => weight + "_T";

    /// <summary>
    /// The LM head, x [..., hidden] → logits [..., vocab]: a MatMul by the stored Wᵀ, or for a tied head by
    /// Transpose(embedding). ONNX Runtime folds that Transpose into a constant which the MatMul kernel repacks and then
    /// drops, while the embedding itself, memory-mapped from the external data file, is paged in only for the rows the
    /// Gather reads. Measured at Llama-3.2-1B, this serves in 1 GB less per session than Gemm(transB = 1) on the
    /// embedding, whose repacking reads the whole table in and keeps it resident beside the packed copy.
    /// </summary>
    public static string Project(OnnxGraph g, string x, string headWeight, LlamaConfig c, string? output = null) =>
        g.Op("MatMul", [x, c.TieWordEmbeddings ? g.Transpose(headWeight, 1, 0) : headWeight], output: output);

    /// <summary>
    /// x · Wᵀ as MatMulNBits (<see cref="BlockQuantizer.MatMulNBits"/>), scales [N·k_blocks]. The weight is quantized once, when the writer reaches its codes; the
    /// scales, written next, reuse that result.
    /// </summary>
    private static string QuantizedLinear(OnnxGraph g, string x, string name, long[] shape, Func<float[]> weight, int bits, QuantizedCompute compute)
    {
        var (n, k) = ((int)shape[0], (int)shape[1]);
        var blocks = BlockQuantizer.BlocksPerRow(k);
        var blob = BlockQuantizer.BlobSize(bits);
        BlockQuantizer.Blocks? quantized = null;
        BlockQuantizer.Blocks Quantized() => quantized ??= BlockQuantizer.Quantize(weight(), n, k, bits);
        var codes = g.DeferredBytes($"{name}_q{bits}", OnnxType.UInt8, [n, blocks, blob], (long)n * blocks * blob, () => Quantized().Codes);
        var scales = g.DeferredBytes($"{name}_scales", OnnxType.Float, [(long)n * blocks], (long)n * blocks * sizeof(float), () =>
        {
            var values = Quantized().Scales;
            quantized = null; // both initializers written: drop the codes
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            return bytes;
        });
        return BlockQuantizer.MatMulNBits(g, x, codes, scales, k, n, bits, compute);
    }

    private static SafeTensor Tensor(IReadOnlyDictionary<string, SafeTensor> weights, string name) =>
        weights.TryGetValue(name, out var t) ? t : throw new ModelFormatException($"weights have no tensor {name}.");

    /// <summary>Wᵀ as float32 bytes, written straight into the one buffer the ONNX writer takes.</summary>
    private static byte[] Transposed(SafeTensor tensor, int rows, int cols)
    {
        var bytes = new byte[(long)rows * cols * sizeof(float)];
        var result = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
        var values = tensor.Floats();
        for (var r = 0; r < rows; r++)
        {
            for (var col = 0; col < cols; col++) result[col * rows + r] = values[r * cols + col];
        }
        return bytes;
    }
}
