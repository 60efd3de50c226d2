using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uld.Contracts.OpenAi;

/// <summary>
/// Sampling and ULD fields shared by chat and text completions (OpenAI names, and vLLM's for top_k, min_p and
/// repetition_penalty; snake_case on the wire). Fields without a property land in <see cref="Unknown"/>.
/// </summary>
public abstract record CompletionRequestBase
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("n")] public int? N { get; init; }
    [JsonPropertyName("stop")] [JsonConverter(typeof(StopConverter))] public IReadOnlyList<string>? Stop { get; init; }
    [JsonPropertyName("stream")] public bool? Stream { get; init; }
    [JsonPropertyName("stream_options")] public StreamOptions? StreamOptions { get; init; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }
    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }
    /// <summary>Token id (as a string) → bias added to that token's logit.</summary>
    [JsonPropertyName("logit_bias")] public IReadOnlyDictionary<string, double>? LogitBias { get; init; }
    /// <summary>vLLM: sample among the k most likely tokens (−1 or 0 = all).</summary>
    [JsonPropertyName("top_k")] public int? TopK { get; init; }
    /// <summary>vLLM: drop tokens less likely than min_p times the most likely one.</summary>
    [JsonPropertyName("min_p")] public double? MinP { get; init; }
    /// <summary>vLLM: the CTRL repetition penalty over prompt and output tokens (1 = none).</summary>
    [JsonPropertyName("repetition_penalty")] public double? RepetitionPenalty { get; init; }
    /// <summary>Extension: the ULD α for this request, checked against the deployment's policy.</summary>
    [JsonPropertyName("uld_alpha")] public double? UldAlpha { get; init; }
    /// <summary>Extension: the relative-top filter r for this request.</summary>
    [JsonPropertyName("uld_relative_top")] public double? UldRelativeTop { get; init; }
    /// <summary>Extension: the offset β of an offset-unlearning deployment, checked against its policy.</summary>
    [JsonPropertyName("uld_offset_beta")] public double? UldOffsetBeta { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; init; }
}

public sealed record StreamOptions([property: JsonPropertyName("include_usage")] bool? IncludeUsage);

public sealed record ChatMessage
{
    [JsonPropertyName("role")] public string? Role { get; init; }
    /// <summary>A string, or an array of content parts of which the "text" ones are used.</summary>
    [JsonPropertyName("content")] public JsonElement Content { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    /// <summary>An assistant turn's tool calls: [{id, type: "function", function: {name, arguments}}].</summary>
    [JsonPropertyName("tool_calls")] public JsonElement? ToolCalls { get; init; }
    /// <summary>A tool turn: the call it answers.</summary>
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; init; }

    public string? Text() => Content.ValueKind switch
    {
        JsonValueKind.String => Content.GetString(),
        JsonValueKind.Array => string.Concat(Content.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t) && t.GetString() == "text")
            .Select(p => p.TryGetProperty("text", out var text) ? text.GetString() : "")),
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => null,
    };
}

public sealed record ChatCompletionRequest : CompletionRequestBase
{
    [JsonPropertyName("messages")] public IReadOnlyList<ChatMessage>? Messages { get; init; }
    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; init; }
    [JsonPropertyName("logprobs")] public bool? Logprobs { get; init; }
    [JsonPropertyName("top_logprobs")] public int? TopLogprobs { get; init; }
    /// <summary>text, json_object or json_schema: the output constrained to JSON (docs/DESIGN.md, *Structured output*).</summary>
    [JsonPropertyName("response_format")] public JsonElement? ResponseFormat { get; init; }
    /// <summary>[{type: "function", function: {name, description, parameters}}], rendered through the model's chat template.</summary>
    [JsonPropertyName("tools")] public JsonElement? Tools { get; init; }
    /// <summary>"none", "auto", "required" or {type: "function", function: {name}}.</summary>
    [JsonPropertyName("tool_choice")] public JsonElement? ToolChoice { get; init; }
}

public sealed record CompletionRequest : CompletionRequestBase
{
    /// <summary>A string or an array of strings (one completion set per prompt).</summary>
    [JsonPropertyName("prompt")] public JsonElement Prompt { get; init; }
    [JsonPropertyName("echo")] public bool? Echo { get; init; }
    /// <summary>Number of most likely tokens to report per position (0–20), or null for none.</summary>
    [JsonPropertyName("logprobs")] public int? Logprobs { get; init; }
}

/// <summary>"stop" is a string or an array of up to 4 strings.</summary>
public sealed class StopConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => [reader.GetString()!],
            JsonTokenType.StartArray => JsonSerializer.Deserialize<string[]>(ref reader, options),
            _ => throw new JsonException("stop must be a string or an array of strings."),
        };

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.ToArray(), options);
}

/// <summary>
/// POST /tokenize (the vLLM extension): either a raw <c>prompt</c> or chat <c>messages</c> rendered with the deployment's
/// chat template. Evaluation uses it to score answers with exactly the tokens the server would see.
/// </summary>
public sealed record TokenizeRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("prompt")] public string? Prompt { get; init; }
    [JsonPropertyName("messages")] public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Prepend BOS (default true).</summary>
    [JsonPropertyName("add_special_tokens")] public bool? AddSpecialTokens { get; init; }
}

public sealed record DetokenizeRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("tokens")] public IReadOnlyList<int>? Tokens { get; init; }
}
