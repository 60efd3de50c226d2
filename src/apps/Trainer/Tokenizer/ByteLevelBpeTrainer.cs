using Uld.Contracts;
using Uld.Tokenization;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;

namespace Uld.Trainer.Tokenizer;

/// <summary>
/// Trains a byte-level BPE vocabulary (GPT-2 style) on a corpus: special tokens first, then the 256 byte symbols,
/// then merges of the most frequent adjacent pair until the vocabulary is full. Deterministic: ties go to the
/// ordinally smallest pair. Hand-written because no maintained .NET BPE trainer is available; the project's tokenizer
/// (Uld.Tokenization) and Hugging Face's encode with the result.
/// </summary>
public static class ByteLevelBpeTrainer
{
    public static readonly string[] DefaultSpecialTokens = ["<pad>", "<s>", "</s>"];

    public sealed record Result(IReadOnlyList<string> Vocabulary, IReadOnlyList<(string Left, string Right)> Merges, IReadOnlyList<string> SpecialTokens);

    public static Result Train(IEnumerable<string> corpus, int vocabSize, IReadOnlyList<string>? specialTokens = null, Action<int, int>? progress = null)
    {
        specialTokens ??= DefaultSpecialTokens;
        var minimum = specialTokens.Count + 256;
        if (vocabSize < minimum) throw new UserErrorException($"the vocabulary must hold at least {minimum} tokens (special tokens + 256 bytes); got {vocabSize}.");

        // Word frequencies over pre-tokenized, byte-mapped text.
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
        {
            foreach (Match m in ByteLevel.PreTokenizer().Matches(text))
            {
                var word = ByteLevel.Encode(Encoding.UTF8.GetBytes(m.Value));
                wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;
            }
        }
        if (wordCounts.Count == 0) throw new UserErrorException("the corpus is empty.");

        var words = wordCounts.Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();
        var vocabulary = new List<string>(specialTokens);
        vocabulary.AddRange(ByteLevel.ByteToChar.Select(c => c.ToString()));
        var merges = new List<(string, string)>();
        var target = vocabSize - vocabulary.Count;

        while (merges.Count < target)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            }
            if (pairs.Count == 0) break; // every word is a single symbol: nothing left to merge

            var best = pairs.MaxBy(kv => kv.Value).Value;
            var (left, right) = pairs.Where(kv => kv.Value == best).Select(kv => kv.Key)
                .OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal).First();
            var merged = left + right;
            merges.Add((left, right));
            vocabulary.Add(merged);
            foreach (var (symbols, _) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
            progress?.Invoke(merges.Count, target);
        }
        return new Result(vocabulary, merges, specialTokens);
    }

    /// <summary>
    /// Hugging Face's TemplateProcessing that prepends BOS, as Llama tokenizers do, so the file alone says that encoded
    /// text starts with BOS (models trained here are trained that way); null when the specials have no "&lt;s&gt;".
    /// </summary>
    private static JsonObject? BosProcessor(Result result)
    {
        const string bos = "<s>";
        var id = result.SpecialTokens.ToList().IndexOf(bos);
        if (id < 0) return null;
        JsonObject Special(int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = typeId } };
        JsonObject Sequence(string name, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = name, ["type_id"] = typeId } };
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(Special(0), Sequence("A", 0)),
            ["pair"] = new JsonArray(Special(0), Sequence("A", 0), Special(1), Sequence("B", 1)),
            ["special_tokens"] = new JsonObject { [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(bos) } },
        };
    }

    /// <summary>The Hugging Face tokenizer.json of a trained vocabulary (byte-level pre-tokenizer and decoder, BPE model).</summary>
    public static JsonObject ToTokenizerJson(Result result)
    {
        var vocab = new JsonObject();
        for (var i = 0; i < result.Vocabulary.Count; i++) vocab[result.Vocabulary[i]] = i;
        var added = new JsonArray(result.SpecialTokens.Select((t, i) => (JsonNode)new JsonObject
        {
            ["id"] = i, ["content"] = t, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        }).ToArray());
        JsonObject ByteLevelStep() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevelStep(),
            ["post_processor"] = BosProcessor(result),
            ["decoder"] = ByteLevelStep(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(result.Merges.Select(m => (JsonNode)$"{m.Left} {m.Right}").ToArray()),
            },
        };
    }
}
