using System.Text.Json;
using Uld.Contracts.OpenAi;

namespace Uld.LogitServer.Admission;

/// <summary>Which request body a field belongs to.</summary>
[Flags]
public enum CompletionEndpoints
{
    Chat = 1,
    Completions = 2,
    Both = Chat | Completions,
}

/// <summary>
/// OpenAI and vLLM request fields this server knows but does not implement. Each is accepted only with a value that
/// leaves the output as it would be without the field (the values clients send by default; JSON null always); any
/// other value is a 400 <c>unsupported_parameter</c> naming it, so nothing a client asks for is silently ignored. A
/// field neither implemented nor listed here is ignored, as OpenAI's SDKs add new ones faster than servers learn them.
/// docs/DESIGN.md (*Request fields*) lists every field; <c>RequestFieldTableTests</c> holds the two together.
/// </summary>
public static class UnsupportedParameters
{
    /// <param name="Accepts">What the field may hold, for the error message.</param>
    public sealed record Field(string Name, CompletionEndpoints Endpoints, string Accepts, Func<JsonElement, bool> IsNeutral);

    public static IReadOnlyList<Field> All { get; } =
    [
        // OpenAI, chat completions.
        // Legacy completions has no response_format in OpenAI's API; chat honours it.
        Values("response_format", CompletionEndpoints.Completions, """{"type":"text"}"""),
        Any("parallel_tool_calls", CompletionEndpoints.Chat, JsonValueKind.True, JsonValueKind.False),
        Values("functions", CompletionEndpoints.Chat, "[]"),
        Values("function_call", CompletionEndpoints.Chat, "\"none\"", "\"auto\""),
        Values("audio", CompletionEndpoints.Chat),
        Values("modalities", CompletionEndpoints.Chat, """["text"]"""),
        Values("prediction", CompletionEndpoints.Chat),
        Values("web_search_options", CompletionEndpoints.Chat),
        Values("reasoning_effort", CompletionEndpoints.Chat),
        Values("verbosity", CompletionEndpoints.Chat),
        Values("store", CompletionEndpoints.Chat, "false"),
        Any("metadata", CompletionEndpoints.Chat, JsonValueKind.Object),
        Values("service_tier", CompletionEndpoints.Chat, "\"auto\"", "\"default\""),
        Any("prompt_cache_key", CompletionEndpoints.Chat, JsonValueKind.String),
        Any("safety_identifier", CompletionEndpoints.Chat, JsonValueKind.String),
        // OpenAI, legacy completions.
        Values("best_of", CompletionEndpoints.Completions, "1"),
        Values("suffix", CompletionEndpoints.Completions, "\"\""),
        // vLLM's extra sampling and template parameters.
        Values("min_tokens", CompletionEndpoints.Both, "0"),
        Values("ignore_eos", CompletionEndpoints.Both, "false"),
        Values("stop_token_ids", CompletionEndpoints.Both, "[]"),
        Values("bad_words", CompletionEndpoints.Both, "[]"),
        Values("allowed_token_ids", CompletionEndpoints.Both),
        Values("use_beam_search", CompletionEndpoints.Both, "false"),
        Values("length_penalty", CompletionEndpoints.Both, "1"),
        Values("prompt_logprobs", CompletionEndpoints.Both),
        Values("truncate_prompt_tokens", CompletionEndpoints.Both),
        Values("include_stop_str_in_output", CompletionEndpoints.Both, "false"),
        Values("skip_special_tokens", CompletionEndpoints.Both, "true"),
        Values("spaces_between_special_tokens", CompletionEndpoints.Both, "true"),
        Values("guided_json", CompletionEndpoints.Both),
        Values("guided_regex", CompletionEndpoints.Both),
        Values("guided_choice", CompletionEndpoints.Both),
        Values("guided_grammar", CompletionEndpoints.Both),
        Values("structured_outputs", CompletionEndpoints.Both),
        Values("echo", CompletionEndpoints.Chat, "false"),
        Values("add_generation_prompt", CompletionEndpoints.Chat, "true"),
        Values("continue_final_message", CompletionEndpoints.Chat, "false"),
        Values("chat_template", CompletionEndpoints.Chat),
        Values("chat_template_kwargs", CompletionEndpoints.Chat, "{}"),
    ];

    private static readonly Dictionary<(string, CompletionEndpoints), Field> ByName =
        All.SelectMany(f => new[] { CompletionEndpoints.Chat, CompletionEndpoints.Completions }.Where(e => f.Endpoints.HasFlag(e)).Select(e => (Key: (f.Name, e), Field: f)))
            .ToDictionary(x => x.Key, x => x.Field);

    /// <summary>Refuses the first listed field of <paramref name="endpoint"/> whose value is not neutral.</summary>
    public static void Check(IReadOnlyDictionary<string, JsonElement>? unknownFields, CompletionEndpoints endpoint)
    {
        foreach (var (name, value) in unknownFields ?? new Dictionary<string, JsonElement>())
        {
            if (value.ValueKind == JsonValueKind.Null || !ByName.TryGetValue((name, endpoint), out var field) || field.IsNeutral(value)) continue;
            throw OpenAiException.Unsupported(name, $"is not supported by this server; it accepts {field.Accepts}.");
        }
    }

    /// <summary>A field whose neutral values are exactly <paramref name="neutral"/> (JSON); none: only null.</summary>
    private static Field Values(string name, CompletionEndpoints endpoints, params string[] neutral)
    {
        var values = neutral.Select(json => JsonDocument.Parse(json).RootElement.Clone()).ToArray();
        var accepts = neutral.Length == 0 ? "only null" : "only " + string.Join(" or ", neutral);
        return new Field(name, endpoints, accepts, value => values.Any(v => JsonElement.DeepEquals(v, value)));
    }

    /// <summary>A field with no effect on the output: any value of the right JSON kind.</summary>
    private static Field Any(string name, CompletionEndpoints endpoints, params JsonValueKind[] kinds) =>
        new(name, endpoints, "any " + string.Join(" or ", kinds.Select(k => k is JsonValueKind.True or JsonValueKind.False ? "boolean" : k.ToString().ToLowerInvariant()).Distinct()),
            value => kinds.Contains(value.ValueKind));
}
