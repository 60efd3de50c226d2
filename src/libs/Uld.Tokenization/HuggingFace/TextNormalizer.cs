using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Tokenization.HuggingFace;

/// <summary>
/// tokenizer.json's normalizer, applied to each text segment between added tokens. Supported: none, NFC, Prepend,
/// Replace (string pattern) and Sequence of these — what Llama 2 (Prepend '▁' + Replace ' '→'▁') and Qwen (NFC) use.
/// </summary>
public static class TextNormalizer
{
    public static Func<string, string> FromJson(JsonNode? normalizer, string source)
    {
        if (normalizer is null) return s => s;
        var type = normalizer["type"]?.GetValue<string>();
        switch (type)
        {
            case "NFC":
                return Nfc.Normalize;
            case "Prepend":
                var prefix = normalizer["prepend"]!.GetValue<string>();
                return s => s.Length == 0 ? s : prefix + s; // Hugging Face prepends to non-empty text only
            case "Replace" when (normalizer["pattern"]?["String"]?.GetValue<string>()) is { Length: > 0 } pattern:
                var content = normalizer["content"]!.GetValue<string>();
                return s => s.Replace(pattern, content, StringComparison.Ordinal);
            case "Sequence":
                var steps = (normalizer["normalizers"]?.AsArray() ?? []).Select(n => FromJson(n, source)).ToArray();
                return s => steps.Aggregate(s, (text, step) => step(text));
            default:
                throw new ModelFormatException($"{source}: unsupported normalizer \"{type}\"; supported: NFC, Prepend, Replace (string), Sequence.");
        }
    }
}
