using System.Text.Json;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Api;

/// <summary>Turns request prompts (chat messages, text or token ids) into the token ids a deployment runs.</summary>
public static class PromptBuilder
{
    /// <summary>
    /// The messages as chat-template values: role, content (text; null content, as an assistant turn that only calls
    /// tools has, is ""), and for tool use tool_calls (arguments parsed from their JSON string into an object, as
    /// templates that write them with tojson expect), tool_call_id and name.
    /// </summary>
    public static IReadOnlyList<Dictionary<string, object?>> Messages(IReadOnlyList<ChatMessage>? messages)
    {
        if (messages is not { Count: > 0 }) throw OpenAiException.InvalidRequest("'messages' must be a non-empty array.", "messages");
        return messages.Select((m, i) =>
        {
            RefuseNonTextParts(m.Content, i);
            var text = m.Text() ?? throw OpenAiException.InvalidRequest($"messages[{i}].content must be a string or an array of text parts.", $"messages[{i}].content");
            var message = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["role"] = m.Role ?? throw OpenAiException.InvalidRequest($"messages[{i}].role is required.", $"messages[{i}].role"),
                ["content"] = text,
            };
            if (m.ToolCalls is { ValueKind: JsonValueKind.Array } calls) message["tool_calls"] = ToolCalls(calls, i);
            if (m.ToolCallId is { } id) message["tool_call_id"] = id;
            if (m.Name is { } name) message["name"] = name;
            return message;
        }).ToList();
    }

    private static List<object?> ToolCalls(JsonElement calls, int message) => calls.EnumerateArray().Select((call, j) =>
    {
        var value = Tools.TemplateValues.From(call) as Dictionary<string, object?>
                    ?? throw OpenAiException.InvalidRequest($"messages[{message}].tool_calls[{j}] must be an object.", $"messages[{message}].tool_calls");
        if (value.GetValueOrDefault("function") is Dictionary<string, object?> function && function.GetValueOrDefault("arguments") is string arguments)
        {
            try
            {
                function["arguments"] = Tools.TemplateValues.From(JsonDocument.Parse(arguments).RootElement);
            }
            catch (JsonException)
            {
                throw OpenAiException.InvalidRequest($"messages[{message}].tool_calls[{j}].function.arguments is not a JSON string of the arguments.", $"messages[{message}].tool_calls");
            }
        }
        return (object?)value;
    }).ToList();

    /// <summary>
    /// The models served take text only: an image, audio or file part is refused rather than dropped, since the answer
    /// to a message without it would not be an answer to what was asked.
    /// </summary>
    private static void RefuseNonTextParts(JsonElement content, int message)
    {
        if (content.ValueKind != JsonValueKind.Array) return;
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "text")
            {
                throw OpenAiException.Unsupported($"messages[{message}].content[{index}]",
                    $"is a content part of type '{type ?? "(none)"}'; this server accepts text parts only.");
            }
            index++;
        }
    }

    /// <summary>The chat template's rendering of <paramref name="messages"/> as token ids (apply_chat_template(tokenize=True)).</summary>
    public static IReadOnlyList<int> Chat(Deployment deployment, IReadOnlyList<Dictionary<string, object?>> messages, Tools.ToolUse? tools = null)
    {
        string rendered;
        try
        {
            rendered = deployment.ChatTemplate.RenderConversation(messages, tools is { Active: true } ? tools.TemplateTools : null);
        }
        catch (ArgumentException e)
        {
            throw OpenAiException.InvalidRequest(e.Message, "messages");
        }
        return deployment.Tokenizer.Encode(rendered, addBos: deployment.ChatTemplate.AddsTokenizerBos);
    }

    /// <summary>
    /// A completions prompt: a string (or one-string array), encoded with BOS; or an array of token ids, used as given —
    /// the OpenAI API's pre-tokenised form, which lets a client score exactly the tokens it chose.
    /// </summary>
    public static (IReadOnlyList<int> Ids, string? Text) Completion(Deployment deployment, JsonElement prompt)
    {
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return (deployment.Tokenizer.Encode(prompt.GetString()!, addBos: true), prompt.GetString());
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                return (deployment.Tokenizer.Encode(prompt[0].GetString()!, addBos: true), prompt[0].GetString());
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                var ids = prompt.EnumerateArray().Select(e => e.TryGetInt32(out var id) ? id : -1).ToList();
                var vocab = deployment.Tokenizer.VocabSize;
                var bad = ids.FindIndex(id => id < 0 || id >= vocab);
                if (bad >= 0) throw OpenAiException.InvalidRequest($"prompt[{bad}] is not a token id of this model (0..{vocab - 1}).", "prompt");
                return (ids, null);
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw OpenAiException.InvalidRequest("'prompt' is required.", "prompt");
            default:
                throw OpenAiException.InvalidRequest("'prompt' must be a string, an array holding one string, or an array of token ids.", "prompt");
        }
    }
}
