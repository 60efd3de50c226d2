using System.Text.Json.Nodes;

namespace Uld.Tests.Support;

/// <summary>
/// Hugging Face config.json files of real model families with the layer count, widths and vocabulary cut down so
/// random-weight models of the same shape test in seconds. Every other key (head_dim, GQA ratio, rope settings,
/// tying, biases, sliding window) is as the published config has it.
/// </summary>
public static class ModelFamilyConfigs
{
    /// <summary>The stories260K tokenizer's vocabulary, which the cut-down models share.</summary>
    public const int Vocab = 512;

    public static readonly IReadOnlyDictionary<string, Func<JsonObject>> All = new Dictionary<string, Func<JsonObject>>
    {
        // locuslab/tofu_ft_llama2-7b (Llama-2-7b-chat): MHA, 4096 context, untied.
        ["llama2"] = () => Base("llama", "LlamaForCausalLM", hidden: 128, heads: 4, kvHeads: 4, intermediate: 344, rmsEps: 1e-5, theta: 10000, context: 4096),
        // meta-llama/Llama-3.2-1B: GQA 4:1, tied embeddings, llama3 rope scaling.
        ["llama3.2"] = () => With(Base("llama", "LlamaForCausalLM", hidden: 128, heads: 8, kvHeads: 2, intermediate: 512, rmsEps: 1e-5, theta: 500000, context: 131072),
            ("tie_word_embeddings", true), ("head_dim", 16),
            ("rope_scaling", new JsonObject { ["rope_type"] = "llama3", ["factor"] = 32.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192 })),
        // Position interpolation (e.g. Vicuna/LongChat-style Llama-2 fine-tunes), legacy "type" key.
        ["llama2-linear"] = () => With(Base("llama", "LlamaForCausalLM", hidden: 128, heads: 4, kvHeads: 4, intermediate: 344, rmsEps: 1e-5, theta: 10000, context: 16384),
            ("rope_scaling", new JsonObject { ["type"] = "linear", ["factor"] = 4.0 })),
        // HuggingFaceTB/SmolLM2-135M: GQA 3:1, tied.
        ["smollm2"] = () => With(Base("llama", "LlamaForCausalLM", hidden: 72, heads: 9, kvHeads: 3, intermediate: 256, rmsEps: 1e-5, theta: 100000, context: 8192),
            ("tie_word_embeddings", true)),
        // mistralai/Mistral-Nemo-Base-2407: explicit head_dim 128 with hidden 5120 / 32 heads (≠ 160), no sliding window.
        ["mistral"] = () => With(Base("mistral", "MistralForCausalLM", hidden: 160, heads: 4, kvHeads: 1, intermediate: 448, rmsEps: 1e-5, theta: 1000000, context: 1024000),
            ("head_dim", 64), ("sliding_window", null)),
        // Qwen/Qwen2.5-0.5B: q/k/v biases, GQA 7:1, tied, sliding window configured but off.
        ["qwen2.5"] = () => With(Base("qwen2", "Qwen2ForCausalLM", hidden: 112, heads: 7, kvHeads: 1, intermediate: 304, rmsEps: 1e-6, theta: 1000000, context: 32768),
            ("tie_word_embeddings", true), ("use_sliding_window", false), ("sliding_window", 32768), ("max_window_layers", 24)),
        // Qwen/Qwen3-0.6B: q/k RMS norms, explicit head_dim (heads × head_dim = 2 × hidden), tied.
        ["qwen3"] = () => With(Base("qwen3", "Qwen3ForCausalLM", hidden: 64, heads: 4, kvHeads: 2, intermediate: 192, rmsEps: 1e-6, theta: 1000000, context: 40960),
            ("tie_word_embeddings", true), ("head_dim", 32), ("use_sliding_window", false), ("sliding_window", null), ("attention_bias", false)),
    };

    private static JsonObject Base(string modelType, string architecture, int hidden, int heads, int kvHeads, int intermediate,
        double rmsEps, double theta, int context) => new()
    {
        ["architectures"] = new JsonArray(architecture),
        ["model_type"] = modelType,
        ["vocab_size"] = Vocab,
        ["hidden_size"] = hidden,
        ["intermediate_size"] = intermediate,
        ["num_hidden_layers"] = 2,
        ["num_attention_heads"] = heads,
        ["num_key_value_heads"] = kvHeads,
        ["max_position_embeddings"] = context,
        ["rms_norm_eps"] = rmsEps,
        ["rope_theta"] = theta,
        ["hidden_act"] = "silu",
        ["tie_word_embeddings"] = false,
        ["bos_token_id"] = 1,
        ["eos_token_id"] = 2,
        ["torch_dtype"] = "bfloat16",
    };

    private static JsonObject With(JsonObject config, params (string Key, JsonNode? Value)[] values)
    {
        foreach (var (key, value) in values) config[key] = value;
        return config;
    }
}
