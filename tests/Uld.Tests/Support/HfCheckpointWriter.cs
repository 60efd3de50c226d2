using System.Text.Json.Nodes;
using Uld.Trainer.Safetensors;

namespace Uld.Tests.Support;

/// <summary>
/// Writes a Hugging Face model folder with random weights, naming tensors the way transformers' Llama, Mistral,
/// Qwen2 and Qwen3 classes do — spelled out here from their state_dict keys rather than taken from the trainer's
/// model, so that an import test checks the names, not just that the trainer agrees with itself.
/// </summary>
public static class HfCheckpointWriter
{
    public static void Write(string folder, JsonObject config, string tokenizerFolder, int seed = 1)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(tokenizerFolder, file), Path.Combine(folder, file));
        SafetensorsFile.Write(Path.Combine(folder, "model.safetensors"), Tensors(config, new Random(seed)), new Dictionary<string, string> { ["format"] = "pt" });
    }

    public static IEnumerable<SafeTensor> Tensors(JsonObject c, Random random)
    {
        int Get(string key) => c[key]!.GetValue<int>();
        bool Flag(string key) => c[key]?.GetValue<bool>() ?? false;
        var (vocab, hidden, intermediate, layers, heads) = (Get("vocab_size"), Get("hidden_size"), Get("intermediate_size"), Get("num_hidden_layers"), Get("num_attention_heads"));
        var kvHeads = c["num_key_value_heads"]?.GetValue<int>() ?? heads;
        var headDim = c["head_dim"]?.GetValue<int>() ?? hidden / heads;
        var type = c["model_type"]!.GetValue<string>();
        var qkvBias = type == "qwen2" || Flag("attention_bias");
        var outputBias = type != "qwen2" && Flag("attention_bias");

        // Scales chosen so that random logits are well separated (greedy decoding is then stable across engines).
        SafeTensor Matrix(string name, int rows, int cols) => Random(name, random, 0.08, 0, rows, cols);
        SafeTensor Norm(string name, int n) => Random(name, random, 0.1, 1, n);
        SafeTensor Bias(string name, int n) => Random(name, random, 0.1, 0, n);

        yield return Matrix("model.embed_tokens.weight", vocab, hidden);
        for (var i = 0; i < layers; i++)
        {
            var p = $"model.layers.{i}.";
            yield return Norm(p + "input_layernorm.weight", hidden);
            yield return Norm(p + "post_attention_layernorm.weight", hidden);
            yield return Matrix(p + "self_attn.q_proj.weight", heads * headDim, hidden);
            yield return Matrix(p + "self_attn.k_proj.weight", kvHeads * headDim, hidden);
            yield return Matrix(p + "self_attn.v_proj.weight", kvHeads * headDim, hidden);
            yield return Matrix(p + "self_attn.o_proj.weight", hidden, heads * headDim);
            if (qkvBias)
            {
                yield return Bias(p + "self_attn.q_proj.bias", heads * headDim);
                yield return Bias(p + "self_attn.k_proj.bias", kvHeads * headDim);
                yield return Bias(p + "self_attn.v_proj.bias", kvHeads * headDim);
            }
            if (outputBias) yield return Bias(p + "self_attn.o_proj.bias", hidden);
            if (type == "qwen3")
            {
                yield return Norm(p + "self_attn.q_norm.weight", headDim);
                yield return Norm(p + "self_attn.k_norm.weight", headDim);
            }
            yield return Matrix(p + "mlp.gate_proj.weight", intermediate, hidden);
            yield return Matrix(p + "mlp.up_proj.weight", intermediate, hidden);
            yield return Matrix(p + "mlp.down_proj.weight", hidden, intermediate);
        }
        yield return Norm("model.norm.weight", hidden);
        if (!Flag("tie_word_embeddings")) yield return Matrix("lm_head.weight", vocab, hidden);
    }

    private static SafeTensor Random(string name, Random random, double scale, double mean, params int[] shape)
    {
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (var i = 0; i < values.Length; i++) values[i] = (float)(mean + scale * (2 * random.NextDouble() - 1) * Math.Sqrt(3));
        return SafeTensor.FromFloats(name, shape.Select(d => (long)d).ToArray(), values);
    }
}
