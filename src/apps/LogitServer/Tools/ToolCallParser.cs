using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Uld.Contracts.OpenAi;
using Uld.Tokenization;

namespace Uld.LogitServer.Tools;

/// <summary>
/// Reads the tool calls out of a generated answer in the model's format (Qwen's &lt;tool_call&gt; blocks, Llama 3's
/// bare JSON object) into OpenAI's <c>tool_calls</c>; text that is not a well-formed call stays content.
/// </summary>
public static partial class ToolCallParser
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The calls in <paramref name="text"/> and what remains as content (null when nothing does).</summary>
    public static (string? Content, IReadOnlyList<ToolCall> Calls) Parse(string text, ToolCallFormat format)
    {
        var calls = new List<ToolCall>();
        if (format == ToolCallFormat.Hermes)
        {
            var rest = HermesCall().Replace(text, match =>
            {
                if (Call(match.Groups[1].Value, "arguments") is not { } call) return match.Value;
                calls.Add(call);
                return "";
            });
            return (calls.Count == 0 ? text : rest.Trim() is { Length: > 0 } content ? content : null, calls);
        }
        if (format == ToolCallFormat.LlamaJson)
        {
            var body = text.Trim();
            if (body.StartsWith("<|python_tag|>", StringComparison.Ordinal)) body = body["<|python_tag|>".Length..];
            if ((Call(body, "parameters") ?? Call(body, "arguments")) is { } call) return (null, [call]);
        }
        return (text, calls);
    }

    private static ToolCall? Call(string json, string argumentsKey)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !root.TryGetProperty(argumentsKey, out var arguments) || arguments.ValueKind is not (JsonValueKind.Object or JsonValueKind.String))
                return null;
            var argumentsJson = arguments.ValueKind == JsonValueKind.String ? arguments.GetString()! : JsonSerializer.Serialize(arguments, Compact);
            return new ToolCall("call_" + Guid.NewGuid().ToString("N")[..24], "function", new FunctionCall(name.GetString()!, argumentsJson));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"<tool_call>\s*(.*?)\s*</tool_call>", RegexOptions.Singleline)]
    private static partial Regex HermesCall();
}
