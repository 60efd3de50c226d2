using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Tokenization.HuggingFace;

/// <summary>An entry of tokenizer.json's added_tokens.</summary>
public sealed record AddedToken(string Content, int Id, bool Special);

/// <summary>The parts of a tokenizer.json that do not depend on the model type.</summary>
public static class TokenizerJson
{
    public static IReadOnlyList<AddedToken> AddedTokens(JsonObject json, string source)
    {
        var tokens = new List<AddedToken>();
        foreach (var token in json["added_tokens"]?.AsArray() ?? [])
        {
            if (token?["content"]?.GetValue<string>() is not { } content || token["id"]?.GetValue<int>() is not { } id)
                throw new ModelFormatException($"{source}: an added token has no content or id.");
            if (token["lstrip"]?.GetValue<bool>() == true || token["rstrip"]?.GetValue<bool>() == true || token["single_word"]?.GetValue<bool>() == true)
                throw new ModelFormatException($"{source}: added token \"{content}\" uses lstrip/rstrip/single_word, which are not supported.");
            tokens.Add(new AddedToken(content, id, token["special"]?.GetValue<bool>() == true));
        }
        return tokens;
    }

    public static Dictionary<string, int> Vocabulary(JsonObject json, string source) =>
        (json["model"]?["vocab"]?.AsObject() ?? throw new ModelFormatException($"{source}: model.vocab is missing."))
        .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);

    /// <summary>Per-id decode bytes: the model's pieces, then added tokens (which may extend the id range) as their UTF-8 content.</summary>
    public static byte[][] WithAddedTokens(IEnumerable<byte[]> modelPieces, IReadOnlyList<AddedToken> added)
    {
        var bytes = modelPieces.ToList();
        foreach (var token in added)
        {
            while (bytes.Count <= token.Id) bytes.Add([]);
            bytes[token.Id] = ModelTokenizer.Utf8.GetBytes(token.Content);
        }
        return bytes.ToArray();
    }

    /// <summary>
    /// BOS/EOS/PAD by the names tokenizer_config.json gives them; without a config, the names the project's and the
    /// usual tokenizers use. A tokenizer without a BOS (Qwen) gets −1.
    /// </summary>
    public static SpecialTokenIds SpecialIds(TokenizerConfig config, IReadOnlyDictionary<string, int> vocab, IReadOnlyList<AddedToken> added)
    {
        int Id(string? name) => name is null ? -1 : added.FirstOrDefault(a => a.Content == name)?.Id ?? vocab.GetValueOrDefault(name, -1);
        int Named(string key, params string[] fallbacks) =>
            config.Has(key) ? Id(config.SpecialToken(key)) : fallbacks.Select(Id).FirstOrDefault(id => id >= 0, -1);
        var pad = Named("pad_token", "<pad>");
        return new SpecialTokenIds(Unk: Named("unk_token"), Bos: Named("bos_token", "<s>", "<|begin_of_text|>", "<|endoftext|>"),
            Eos: Named("eos_token", "</s>", "<|end_of_text|>", "<|endoftext|>"), Pad: pad >= 0 ? pad : null);
    }

    /// <summary>
    /// The BOS that encoding with special tokens puts first: a TemplateProcessing post-processor's leading special
    /// token, else tokenizer_config's add_bos_token; none for other post-processors (Llama 3's and Qwen's files).
    /// </summary>
    public static int? PrependedBos(JsonObject json, TokenizerConfig config, SpecialTokenIds ids)
    {
        var post = json["post_processor"];
        if (post?["type"]?.GetValue<string>() == "TemplateProcessing")
        {
            var first = post["single"]?.AsArray().FirstOrDefault()?["SpecialToken"]?["id"]?.GetValue<string>();
            return first is null ? null : post["special_tokens"]?[first]?["ids"]?.AsArray().Single()?.GetValue<int>();
        }
        return config.Flag("add_bos_token") == true && ids.Bos >= 0 ? ids.Bos : null;
    }

    public static bool StripsLeadingSpace(JsonObject json)
    {
        var decoder = json["decoder"];
        var steps = decoder?["type"]?.GetValue<string>() == "Sequence" ? decoder["decoders"]?.AsArray().ToList() ?? [] : [decoder];
        return steps.Any(d => d?["type"]?.GetValue<string>() == "Strip" && d["content"]?.GetValue<string>() == " "
                              && d["start"]?.GetValue<int>() == 1);
    }
}
