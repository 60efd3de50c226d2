using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Tokenization.HuggingFace;

/// <summary>
/// tokenizer.json's pre-tokenizer: how a normalised segment becomes the words BPE sees. Supported: none (the
/// segment is one word, Llama 2), ByteLevel with its GPT-2 regex (the project's tokenizers), and Split(regex,
/// Isolated) followed by ByteLevel without regex (Llama 3, Qwen). Byte-level words are written in GPT-2's
/// byte-to-char alphabet, the alphabet of their vocabularies.
/// </summary>
public sealed class WordSplitter
{
    private readonly SplitPattern? _pattern;
    private readonly bool _byteLevel;

    private WordSplitter(SplitPattern? pattern, bool byteLevel) => (_pattern, _byteLevel) = (pattern, byteLevel);

    public bool IsByteLevel => _byteLevel;

    public IEnumerable<string> Split(string text)
    {
        var words = _pattern is null ? [text] : _pattern.Split(text);
        return _byteLevel ? words.Select(w => ByteLevel.Encode(Encoding.UTF8.GetBytes(w))) : words;
    }

    public static WordSplitter FromJson(JsonNode? preTokenizer, string source)
    {
        if (preTokenizer is null) return new WordSplitter(null, byteLevel: false);
        switch (preTokenizer["type"]?.GetValue<string>())
        {
            case "ByteLevel":
                RequireByteLevel(preTokenizer, useRegex: true, source);
                return new WordSplitter(new SplitPattern(ByteLevel.PreTokenizer()), byteLevel: true);
            case "Sequence" when (preTokenizer["pretokenizers"]?.AsArray()) is [JsonObject split, JsonObject byteLevel]
                                 && TypeOf(split) == "Split" && TypeOf(byteLevel) == "ByteLevel":
                RequireByteLevel(byteLevel, useRegex: false, source);
                var pattern = split["pattern"]?["Regex"]?.GetValue<string>();
                if (pattern is null || split["behavior"]?.GetValue<string>() != "Isolated" || split["invert"]?.GetValue<bool>() == true)
                    throw new ModelFormatException($"{source}: unsupported Split pre-tokenizer; supported: a Regex pattern, behavior Isolated, not inverted.");
                return new WordSplitter(SplitPattern.FromTokenizerJson(pattern), byteLevel: true);
            default:
                throw new ModelFormatException(
                    $"{source}: unsupported pre_tokenizer {preTokenizer.ToJsonString()[..Math.Min(120, preTokenizer.ToJsonString().Length)]}; supported: none, ByteLevel, Sequence[Split, ByteLevel].");
        }
    }

    private static string? TypeOf(JsonNode node) => node["type"]?.GetValue<string>();

    private static void RequireByteLevel(JsonNode byteLevel, bool useRegex, string source)
    {
        if (byteLevel["add_prefix_space"]?.GetValue<bool>() == true)
            throw new ModelFormatException($"{source}: ByteLevel pre-tokenizer with add_prefix_space is not supported.");
        if ((byteLevel["use_regex"]?.GetValue<bool>() ?? true) != useRegex)
            throw new ModelFormatException($"{source}: ByteLevel pre-tokenizer with use_regex={!useRegex} is not supported here.");
    }
}
