using System.Text.Json.Serialization;

namespace Uld.Contracts.OpenAi;

public sealed record Usage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

public sealed record TopLogprob(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("logprob")] double Logprob,
    [property: JsonPropertyName("bytes")] int[] Bytes);

public sealed record TokenLogprob(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("logprob")] double Logprob,
    [property: JsonPropertyName("bytes")] int[] Bytes,
    [property: JsonPropertyName("top_logprobs")] IReadOnlyList<TopLogprob> TopLogprobs);

public sealed record ChoiceLogprobs([property: JsonPropertyName("content")] IReadOnlyList<TokenLogprob> Content);

/// <summary>The answer; <see cref="Content"/> is null when the model only called tools.</summary>
public sealed record AssistantMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content)
{
    [JsonPropertyName("tool_calls")] public IReadOnlyList<ToolCall>? ToolCalls { get; init; }
}

/// <summary>A call the model made: <see cref="FunctionCall.Arguments"/> is the arguments object as a JSON string.</summary>
public sealed record ToolCall(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("function")] FunctionCall Function);

public sealed record FunctionCall(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments);

/// <summary>A streamed tool call: the first chunk of a call carries its id, type and name, later ones more arguments.</summary>
public sealed record ToolCallDelta(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("function")] FunctionCallDelta Function);

public sealed record FunctionCallDelta(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("arguments")] string? Arguments);

public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] AssistantMessage Message,
    [property: JsonPropertyName("logprobs")] ChoiceLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

/// <summary>The response of /v1/chat/completions; <see cref="UldAlpha"/> reports the α used (null for plain deployments).</summary>
public sealed record ChatCompletion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] Usage Usage,
    [property: JsonPropertyName("uld_alpha")] double? UldAlpha = null)
{
    /// <summary>The offset β used (null for other kinds of deployment).</summary>
    [JsonPropertyName("uld_offset_beta")] public double? UldOffsetBeta { get; init; }
}

public sealed record ChunkDelta(
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("content")] string? Content)
{
    [JsonPropertyName("tool_calls")] public IReadOnlyList<ToolCallDelta>? ToolCalls { get; init; }
}

public sealed record ChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChunkDelta Delta,
    [property: JsonPropertyName("logprobs")] ChoiceLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChunkChoice> Choices,
    [property: JsonPropertyName("usage")] Usage? Usage,
    [property: JsonPropertyName("uld_alpha")] double? UldAlpha)
{
    /// <summary>The offset β used (null for other kinds of deployment).</summary>
    [JsonPropertyName("uld_offset_beta")] public double? UldOffsetBeta { get; init; }
}

public sealed record CompletionLogprobs(
    [property: JsonPropertyName("tokens")] IReadOnlyList<string> Tokens,
    [property: JsonPropertyName("token_logprobs")] IReadOnlyList<double?> TokenLogprobs,
    [property: JsonPropertyName("top_logprobs")] IReadOnlyList<Dictionary<string, double>?> TopLogprobs,
    [property: JsonPropertyName("text_offset")] IReadOnlyList<int> TextOffset);

public sealed record CompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("logprobs")] CompletionLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record Completion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoice> Choices,
    [property: JsonPropertyName("usage")] Usage? Usage,
    [property: JsonPropertyName("uld_alpha")] double? UldAlpha)
{
    /// <summary>The offset β used (null for other kinds of deployment).</summary>
    [JsonPropertyName("uld_offset_beta")] public double? UldOffsetBeta { get; init; }
}

/// <summary>
/// One entry of <c>GET /v1/models</c>. <see cref="Uld"/> and <see cref="Offset"/> are extensions: the policy of a ULD or
/// an offset deployment, null for the other kinds; the Gateway enforces its floors from them, so a card that lacks a
/// required field is not read as one with a zero there (<see cref="JsonRequiredAttribute"/>).
/// </summary>
public sealed record ModelCard(
    [property: JsonPropertyName("id"), JsonRequired] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy,
    [property: JsonPropertyName("uld")] UldPolicyCard? Uld = null)
{
    /// <summary>Extension: the β policy of an offset-unlearning deployment (null for the other kinds).</summary>
    [JsonPropertyName("offset")] public OffsetPolicyCard? Offset { get; init; }
}

/// <summary>Extension on /v1/models: how an offset deployment lets callers set β; <c>beta_min</c> is its floor.</summary>
public sealed record OffsetPolicyCard(
    [property: JsonPropertyName("beta_default"), JsonRequired] double BetaDefault,
    [property: JsonPropertyName("beta_min"), JsonRequired] double BetaMin,
    [property: JsonPropertyName("beta_max"), JsonRequired] double BetaMax);

/// <summary>
/// Extension on /v1/models: how a ULD deployment lets callers set α and r, and the decode rule α scales
/// (<c>difference</c> or <c>suppress_only</c>; the same α means a different strength under each). Replicas older than
/// the relative-top bounds and the rule list neither: their bounds were [0, 1] and their rule the difference.
/// </summary>
public sealed record UldPolicyCard(
    [property: JsonPropertyName("alpha_default"), JsonRequired] double AlphaDefault,
    [property: JsonPropertyName("alpha_min"), JsonRequired] double AlphaMin,
    [property: JsonPropertyName("alpha_max"), JsonRequired] double AlphaMax,
    [property: JsonPropertyName("relative_top_default"), JsonRequired] double RelativeTopDefault,
    [property: JsonPropertyName("relative_top_min")] double RelativeTopMin = 0,
    [property: JsonPropertyName("relative_top_max")] double RelativeTopMax = 1,
    [property: JsonPropertyName("rule")] string Rule = "difference");

/// <summary>The answer of <c>GET /v1/models</c>.</summary>
public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data"), JsonRequired] IReadOnlyList<ModelCard> Data);

public sealed record TokenizeResponse(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("max_model_len")] int MaxModelLength,
    [property: JsonPropertyName("tokens")] IReadOnlyList<int> Tokens);

public sealed record DetokenizeResponse([property: JsonPropertyName("prompt")] string Prompt);
