using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;

namespace Uld.Trainer.Import;

/// <summary>
/// Reads and writes llama2.c "v0" checkpoints (7 int32 header, then float32 tensors in a fixed order) as a config
/// and Hugging Face-named tensors. llama2.c rotates adjacent pairs (2i, 2i+1) of each head while Hugging Face rotates
/// halves (i, i + d/2), so the rows of wq and wk are permuted between the two orders.
/// </summary>
public static class Llama2cCheckpoint
{
    private const int HeaderInts = 7;

    public static (LlamaConfig Config, Dictionary<string, SafeTensor> Tensors) Read(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException($"checkpoint {path} does not exist.");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderInts * 4) throw new ModelFormatException($"{path} is truncated: shorter than the llama2.c header.");
        var header = new int[HeaderInts];
        Buffer.BlockCopy(bytes, 0, header, 0, HeaderInts * 4);
        var (dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen) = (header[0], header[1], header[2], header[3], header[4], header[5], header[6]);
        var shared = vocabSigned > 0;
        var vocab = Math.Abs(vocabSigned);
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seqLen <= 0
            || dim % heads != 0 || heads % kvHeads != 0 || dim > 1 << 16 || layers > 1024)
            throw new ModelFormatException($"{path} is not a llama2.c v0 checkpoint (implausible header: {string.Join(", ", header)}).");

        var headDim = dim / heads;
        var kvDim = headDim * kvHeads;
        long expectedFloats = (long)vocab * dim + layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim + 3L * hidden * dim)
                              + dim + (long)seqLen * headDim + (shared ? 0 : (long)vocab * dim);
        var actualFloats = (bytes.Length - HeaderInts * 4) / 4;
        if (actualFloats < expectedFloats)
            throw new ModelFormatException($"{path} is truncated: the header implies {expectedFloats} float32 values, the file holds {actualFloats}.");
        if (actualFloats > expectedFloats)
            throw new ModelFormatException($"{path} has {actualFloats - expectedFloats} more float32 values than its header implies; is it a newer llama2.c export version (only v0 is supported)?");

        var offset = HeaderInts * 4;
        float[] Next(long count)
        {
            var values = new float[count];
            Buffer.BlockCopy(bytes, offset, values, 0, checked((int)count * 4));
            offset += (int)count * 4;
            return values;
        }
        float[][] PerLayer(long count) => Enumerable.Range(0, layers).Select(_ => Next(count)).ToArray();

        var embedding = Next((long)vocab * dim);
        var rmsAtt = PerLayer(dim);
        var wq = PerLayer((long)dim * dim);
        var wk = PerLayer((long)kvDim * dim);
        var wv = PerLayer((long)kvDim * dim);
        var wo = PerLayer((long)dim * dim);
        var rmsFfn = PerLayer(dim);
        var w1 = PerLayer((long)hidden * dim);
        var w2 = PerLayer((long)dim * hidden);
        var w3 = PerLayer((long)hidden * dim);
        var rmsFinal = Next(dim);
        Next((long)seqLen * headDim); // freq_cis_real and freq_cis_imag: recomputed from rope_theta instead
        var classifier = shared ? null : Next((long)vocab * dim);

        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        void Add(string name, float[] values, params long[] shape) => tensors[name] = SafeTensor.FromFloats(name, shape, values);
        Add("model.embed_tokens.weight", embedding, vocab, dim);
        for (var i = 0; i < layers; i++)
        {
            var p = $"model.layers.{i}.";
            Add(p + "input_layernorm.weight", rmsAtt[i], dim);
            Add(p + "self_attn.q_proj.weight", PairsToHalves(wq[i], heads, headDim, dim), dim, dim);
            Add(p + "self_attn.k_proj.weight", PairsToHalves(wk[i], kvHeads, headDim, dim), kvDim, dim);
            Add(p + "self_attn.v_proj.weight", wv[i], kvDim, dim);
            Add(p + "self_attn.o_proj.weight", wo[i], dim, dim);
            Add(p + "post_attention_layernorm.weight", rmsFfn[i], dim);
            Add(p + "mlp.gate_proj.weight", w1[i], hidden, dim);
            Add(p + "mlp.down_proj.weight", w2[i], dim, hidden);
            Add(p + "mlp.up_proj.weight", w3[i], hidden, dim);
        }
        Add("model.norm.weight", rmsFinal, dim);
        if (classifier is not null) Add("lm_head.weight", classifier, vocab, dim);

        var config = new LlamaConfig
        {
            VocabSize = vocab,
            HiddenSize = dim,
            IntermediateSize = hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            MaxPositionEmbeddings = seqLen,
            RmsNormEps = 1e-5, // llama2.c's rmsnorm epsilon
            RopeTheta = 10000.0,
            TieWordEmbeddings = shared,
            BosTokenId = 1,
            EosTokenId = 2,
        };
        return (config, tensors);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as a v0 checkpoint that llama2.c's <c>run.c</c> runs: the outside reference
    /// the serving benchmark measures on the same weights. Only what run.c computes can be written: a plain Llama
    /// (no biases, q/k norms, rope scaling or explicit head_dim), RoPE θ 10000 and RMSNorm ε 1e-5. Tensors are
    /// read one at a time, so a lazily opened safetensors file is never held in memory whole.
    /// </summary>
    public static void Write(string path, LlamaConfig c, IReadOnlyDictionary<string, SafeTensor> tensors)
    {
        var unsupported = new List<string>();
        if (c.QkvBias || c.OutputBias) unsupported.Add("attention biases");
        if (c.QkNorm) unsupported.Add("q/k norms");
        if (c.RopeScaling is not null) unsupported.Add("rope_scaling");
        if (c.HeadDim * c.NumAttentionHeads != c.HiddenSize) unsupported.Add($"head_dim {c.HeadDim} ≠ hidden/heads");
        if (Math.Abs(c.RopeTheta - 10000.0) > 1e-9) unsupported.Add($"rope_theta {c.RopeTheta} (run.c uses 10000)");
        if (Math.Abs(c.RmsNormEps - 1e-5) > 1e-12) unsupported.Add($"rms_norm_eps {c.RmsNormEps} (run.c uses 1e-5)");
        if (unsupported.Count > 0)
            throw new ModelFormatException($"llama2.c's run.c cannot run this model: {string.Join(", ", unsupported)}.");

        var (dim, layers, heads, kvHeads, headDim) = (c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.KeyValueHeads, c.HeadDim);
        SafeTensor Get(string name) => tensors.TryGetValue(name, out var t) ? t : throw new ModelFormatException($"weights have no tensor {name}.");
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            foreach (var v in new[] { dim, c.IntermediateSize, layers, heads, kvHeads, c.TieWordEmbeddings ? c.VocabSize : -c.VocabSize, c.MaxPositionEmbeddings })
                w.Write(v);
            void Put(float[] values) => w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            void Copy(string name) => w.Write(Get(name).Float32Bytes());
            void PerLayer(string suffix, int permutedHeads = 0)
            {
                for (var i = 0; i < layers; i++)
                {
                    var name = $"model.layers.{i}.{suffix}";
                    if (permutedHeads == 0) Copy(name);
                    else Put(HalvesToPairs(Get(name).ToFloats(), permutedHeads, headDim, dim));
                }
            }
            Copy("model.embed_tokens.weight");
            PerLayer("input_layernorm.weight");
            PerLayer("self_attn.q_proj.weight", permutedHeads: heads);
            PerLayer("self_attn.k_proj.weight", permutedHeads: kvHeads);
            PerLayer("self_attn.v_proj.weight");
            PerLayer("self_attn.o_proj.weight");
            PerLayer("post_attention_layernorm.weight");
            PerLayer("mlp.gate_proj.weight");
            PerLayer("mlp.down_proj.weight");
            PerLayer("mlp.up_proj.weight");
            Copy("model.norm.weight");
            // freq_cis_real and freq_cis_imag [seq_len, head_dim / 2] each: run.c skips them and computes RoPE itself.
            var (real, imag) = (new float[(long)c.MaxPositionEmbeddings * headDim / 2], new float[(long)c.MaxPositionEmbeddings * headDim / 2]);
            for (var pos = 0; pos < c.MaxPositionEmbeddings; pos++)
            {
                for (var i = 0; i < headDim / 2; i++)
                {
                    var angle = pos / Math.Pow(10000.0, 2.0 * i / headDim);
                    (real[pos * headDim / 2 + i], imag[pos * headDim / 2 + i]) = ((float)Math.Cos(angle), (float)Math.Sin(angle));
                }
            }
            Put(real);
            Put(imag);
            if (!c.TieWordEmbeddings) Copy("lm_head.weight");
        });
    }

    /// <summary>Row j·d/2 + i of each head moves to row 2i + j: the inverse of <see cref="PairsToHalves"/>.</summary>
    private static float[] HalvesToPairs(float[] w, int heads, int headDim, int cols) => Permute(w, heads, headDim, cols, inverse: true);

    /// <summary>Row 2i + j of each head moves to row j·d/2 + i (the inverse of Hugging Face's llama2.c export permutation).</summary>
    private static float[] PairsToHalves(float[] w, int heads, int headDim, int cols) => Permute(w, heads, headDim, cols, inverse: false);

    private static float[] Permute(float[] w, int heads, int headDim, int cols, bool inverse)
    {
        var result = new float[w.Length];
        var half = headDim / 2;
        for (var h = 0; h < heads; h++)
        {
            for (var i = 0; i < half; i++)
            {
                for (var j = 0; j < 2; j++)
                {
                    var (pairs, halves) = (h * headDim + 2 * i + j, h * headDim + j * half + i);
                    var (from, to) = inverse ? (halves, pairs) : (pairs, halves);
                    Array.Copy(w, (long)from * cols, result, (long)to * cols, cols);
                }
            }
        }
        return result;
    }
}
