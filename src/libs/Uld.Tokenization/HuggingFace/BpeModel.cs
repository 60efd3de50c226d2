using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Tokenization.HuggingFace;

/// <summary>
/// tokenizer.json's BPE model, merging exactly as Hugging Face tokenizers do: a word starts as one symbol per code
/// point (unknown code points become their UTF-8 byte tokens when byte_fallback is on), then the adjacent pair with
/// the lowest merge rank is merged, leftmost first on ties, until no pair has a rank.
/// Why not Microsoft.ML.Tokenizers: its SentencePiece BPE merges by piece score, which cannot express pair ranks
/// when two pairs build the same piece (Llama 2's "~~~", runs of spaces), its BpeTokenizer has no byte fallback,
/// and on byte-level vocabularies it splits differently from Hugging Face (Llama 3's "\tbetween"; Qwen3 drops
/// whitespace-only input). The fixture tests under tests/Uld.Tests/Tokenization/HuggingFace show each case.
/// </summary>
public sealed class BpeModel
{
    private const int CacheLimit = 50_000;
    private const int CachedWordLength = 64;

    private readonly IReadOnlyDictionary<string, int> _vocab;
    private readonly Dictionary<(int Left, int Right), (int Rank, int Merged)> _merges;
    private readonly int[]? _byteTokens;
    private readonly int? _unk;
    private readonly bool _ignoreMerges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    private BpeModel(IReadOnlyDictionary<string, int> vocab, Dictionary<(int, int), (int, int)> merges, int[]? byteTokens, int? unk, bool ignoreMerges)
    {
        (_vocab, _merges, _byteTokens, _unk, _ignoreMerges) = (vocab, merges, byteTokens, unk, ignoreMerges);
    }

    public static BpeModel Create(JsonObject model, IReadOnlyDictionary<string, int> vocab, string source)
    {
        var merges = new Dictionary<(int, int), (int, int)>();
        var list = model["merges"]?.AsArray() ?? [];
        for (var rank = 0; rank < list.Count; rank++)
        {
            var (left, right) = list[rank] is JsonArray pair
                ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>())
                : SplitMerge(list[rank]!.GetValue<string>(), source);
            if (!vocab.TryGetValue(left, out var l) || !vocab.TryGetValue(right, out var r) || !vocab.TryGetValue(left + right, out var merged))
                throw new ModelFormatException($"{source}: merge \"{left} {right}\" uses pieces that are not in the vocabulary.");
            merges.TryAdd((l, r), (rank, merged));
        }
        int[]? byteTokens = null;
        if (model["byte_fallback"]?.GetValue<bool>() == true)
        {
            byteTokens = new int[256];
            for (var b = 0; b < 256; b++)
                byteTokens[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : throw new ModelFormatException($"{source}: byte_fallback without a <0x{b:X2}> token.");
        }
        var unkName = model["unk_token"]?.GetValue<string>();
        int? unk = unkName is not null && vocab.TryGetValue(unkName, out var u) ? u : null;
        return new BpeModel(vocab, merges, byteTokens, unk, model["ignore_merges"]?.GetValue<bool>() == true);
    }

    public void Encode(string word, List<int> ids)
    {
        if (word.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole))
        {
            ids.Add(whole);
            return;
        }
        if (_cache.TryGetValue(word, out var cached))
        {
            ids.AddRange(cached);
            return;
        }
        var result = Merge(InitialSymbols(word));
        // Words repeat, whole texts (Llama 2 has no pre-tokenizer) rarely do: only short words are cached, and the
        // cache is bounded (cleared when full, not an LRU) because a long-running server sees unbounded distinct input.
        if (word.Length <= CachedWordLength)
        {
            if (_cache.Count >= CacheLimit) _cache.Clear();
            _cache[word] = result;
        }
        ids.AddRange(result);
    }

    private List<int> InitialSymbols(string word)
    {
        var symbols = new List<int>(word.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in word.EnumerateRunes())
        {
            if (_vocab.TryGetValue(rune.ToString(), out var id))
            {
                symbols.Add(id);
            }
            else if (_byteTokens is not null)
            {
                var length = rune.EncodeToUtf8(utf8);
                foreach (var b in utf8[..length]) symbols.Add(_byteTokens[b]);
            }
            else if (_unk is { } unk)
            {
                symbols.Add(unk);
            }
            else
            {
                throw new ArgumentException($"the character U+{rune.Value:X4} has no token and the tokenizer has neither byte fallback nor an unknown token.");
            }
        }
        return symbols;
    }

    /// <summary>Lowest rank first, then leftmost: a priority queue over a linked list of symbols.</summary>
    private int[] Merge(List<int> initial)
    {
        var count = initial.Count;
        var id = initial.ToArray();
        var next = new int[count];
        var prev = new int[count];
        var alive = new bool[count];
        for (var i = 0; i < count; i++) (next[i], prev[i], alive[i]) = (i + 1 < count ? i + 1 : -1, i - 1, true);

        var queue = new PriorityQueue<(int Position, int Left, int Right), (int Rank, int Position)>();
        void Offer(int position)
        {
            var right = next[position];
            if (right >= 0 && _merges.TryGetValue((id[position], id[right]), out var merge))
                queue.Enqueue((position, id[position], id[right]), (merge.Rank, position));
        }
        for (var i = 0; i + 1 < count; i++) Offer(i);

        while (queue.TryDequeue(out var top, out _))
        {
            var right = next[top.Position];
            // Stale entries: one side was merged into something else since this pair was offered.
            if (!alive[top.Position] || right < 0 || id[top.Position] != top.Left || id[right] != top.Right) continue;
            id[top.Position] = _merges[(top.Left, top.Right)].Merged;
            alive[right] = false;
            next[top.Position] = next[right];
            if (next[right] >= 0) prev[next[right]] = top.Position;
            if (prev[top.Position] >= 0) Offer(prev[top.Position]);
            Offer(top.Position);
        }

        var result = new List<int>(count);
        for (var i = 0; i >= 0 && i < count; i = next[i]) result.Add(id[i]);
        return result.ToArray();
    }

    private static (string, string) SplitMerge(string merge, string source)
    {
        var space = merge.IndexOf(' ', 1);
        if (space < 0) throw new ModelFormatException($"{source}: malformed merge \"{merge}\".");
        return (merge[..space], merge[(space + 1)..]);
    }
}
