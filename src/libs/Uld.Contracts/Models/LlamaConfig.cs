using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Uld.Contracts.Models;

/// <summary>
/// The subset of a Hugging Face config.json that defines a Llama-family decoder's shape: Llama 1/2/3.x, Mistral,
/// Qwen2/2.5 and Qwen3 (the same block with biases on q/k/v, or RMS norms on q/k heads, see <see cref="Family"/>).
/// Unknown keys are preserved on round-trip so that a config written by other tools stays intact.
/// </summary>
public sealed record LlamaConfig
{
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = ["LlamaForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("rope_scaling")] public JsonNode? RopeScaling { get; init; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; init; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public JsonNode? EosTokenId { get; init; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }
    /// <summary>Qwen2/Qwen3 only: their configs carry a sliding_window that applies only when this is true.</summary>
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; init; }
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; init; } = "float32";

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;
    [JsonIgnore] public ModelFamily Family => ModelFamily.Of(ModelType);
    /// <summary>Qwen2 always has q/k/v biases; Llama/Mistral/Qwen3 have them (and an o_proj bias) with attention_bias.</summary>
    [JsonIgnore] public bool QkvBias => Family.QkvBias || AttentionBias;
    [JsonIgnore] public bool OutputBias => AttentionBias && !Family.QkvBias;
    [JsonIgnore] public bool QkNorm => Family.QkNorm;

    /// <summary>The parsed rope_scaling (null when plain); <see cref="Validate"/> has rejected unsupported ones.</summary>
    public Models.RopeScaling? ParsedRopeScaling() => Models.RopeScaling.Parse(RopeScaling, "config.json");

    public static LlamaConfig Load(string path)
    {
        var config = Json.ReadFile<LlamaConfig>(path, "model config");
        config.Validate(path);
        return config;
    }

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json.Options));

    /// <summary>Rejects what the decoder cannot represent, with a message naming the offending key.</summary>
    public void Validate(string source = "config.json")
    {
        void Fail(string why) => throw new ModelFormatException($"{source}: {why}");

        if (!ModelFamily.IsSupported(ModelType))
            Fail($"unsupported architecture model_type \"{ModelType}\"; supported: {string.Join(", ", ModelFamily.Supported.Select(f => $"\"{f.ModelType}\""))}.");
        if (HiddenAct != "silu")
            Fail($"unsupported hidden_act \"{HiddenAct}\"; Llama-family models use \"silu\".");
        Models.RopeScaling.Parse(RopeScaling, source);
        if (MlpBias)
            Fail("mlp_bias is not supported (Llama-family checkpoints have no MLP biases).");
        if (SlidingWindow is { } window && (UseSlidingWindow ?? !Family.SlidingWindowNeedsFlag) && window < MaxPositionEmbeddings)
            Fail($"sliding_window {window} is shorter than the context (max_position_embeddings {MaxPositionEmbeddings}); sliding-window attention is not supported.");
        if (VocabSize <= 0 || HiddenSize <= 0 || IntermediateSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0)
            Fail("vocab_size, hidden_size, intermediate_size, num_hidden_layers and num_attention_heads must be positive.");
        if (HeadDimOverride is null && HiddenSize % NumAttentionHeads != 0)
            Fail($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}.");
        if (HeadDim % 2 != 0)
            Fail($"head dimension {HeadDim} must be even for rotary embeddings.");
        if (KeyValueHeads <= 0 || NumAttentionHeads % KeyValueHeads != 0)
            Fail($"num_attention_heads {NumAttentionHeads} must be a multiple of num_key_value_heads {KeyValueHeads}.");
        if (RmsNormEps <= 0 || RopeTheta <= 0)
            Fail("rms_norm_eps and rope_theta must be positive.");
    }
}
