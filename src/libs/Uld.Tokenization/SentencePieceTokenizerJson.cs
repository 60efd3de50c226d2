using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Tokenization;

/// <summary>
/// The Hugging Face tokenizer.json form of a SentencePiece BPE (Llama-style) vocabulary: BPE with byte fallback,
/// '▁' for spaces, a dummy-prefix normaliser and the matching decoder — the layout transformers writes for Llama 2.
/// </summary>
public static class SentencePieceTokenizerJson
{
    public const char SpaceMarker = '▁';

    public static JsonObject Create(IReadOnlyList<VocabPiece> pieces, SpecialTokenIds ids)
    {
        var vocab = new JsonObject();
        for (var i = 0; i < pieces.Count; i++) vocab[pieces[i].Piece] = i;

        var added = new JsonArray();
        for (var i = 0; i < pieces.Count; i++)
        {
            if (pieces[i].Type is not (PieceType.Control or PieceType.Unknown)) continue;
            added.Add(new JsonObject
            {
                ["id"] = i, ["content"] = pieces[i].Piece, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        }

        var bos = pieces[ids.Bos].Piece;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = SpaceMarker.ToString() },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = SpaceMarker.ToString() }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(SpecialStep(bos), SequenceStep("A")),
                ["pair"] = new JsonArray(SpecialStep(bos), SequenceStep("A"), SpecialStep(bos), SequenceStep("B")),
                ["special_tokens"] = new JsonObject
                {
                    [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(ids.Bos), ["tokens"] = new JsonArray(bos) },
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = SpaceMarker.ToString() }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = pieces[ids.Unk].Piece,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(Merges(pieces).Select(m => (JsonNode)m).ToArray()),
            },
        };
    }

    private static JsonObject SpecialStep(string token) =>
        new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = 0 } };

    private static JsonObject SequenceStep(string id) =>
        new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };

    public static bool IsSentencePieceStyle(JsonObject tokenizerJson) =>
        tokenizerJson["model"]?["type"]?.GetValue<string>() == "BPE"
        && tokenizerJson["model"]?["byte_fallback"]?.GetValue<bool>() == true;

    /// <summary>
    /// Recovers a piece list from tokenizer.json. Scores are not stored there, so each merged piece gets
    /// −(rank of the first merge that produces it): SentencePiece's highest-score-first merging then follows
    /// the merge order exactly as the Hugging Face BPE model does.
    /// </summary>
    public static (IReadOnlyList<VocabPiece> Pieces, SpecialTokenIds Ids) ReadPieces(JsonObject tokenizerJson, string source)
    {
        var model = tokenizerJson["model"]!.AsObject();
        var vocab = model["vocab"]?.AsObject() ?? throw new ModelFormatException($"{source}: model.vocab is missing.");
        var byId = new string?[vocab.Count];
        foreach (var (piece, id) in vocab)
        {
            var i = id!.GetValue<int>();
            if (i < 0 || i >= byId.Length || byId[i] is not null)
                throw new ModelFormatException($"{source}: vocabulary ids are not a dense range 0..{byId.Length - 1}.");
            byId[i] = piece;
        }

        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        var merges = model["merges"]?.AsArray() ?? [];
        for (var r = 0; r < merges.Count; r++)
        {
            var merge = merges[r]!;
            var (left, right) = merge is JsonArray pair
                ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>())
                : SplitMerge(merge.GetValue<string>(), source);
            rank.TryAdd(left + right, r);
        }

        var special = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in tokenizerJson["added_tokens"]?.AsArray() ?? [])
        {
            if (token?["special"]?.GetValue<bool>() == true) special.Add(token["content"]!.GetValue<string>());
        }

        var unkPiece = model["unk_token"]?.GetValue<string>();
        var pieces = new List<VocabPiece>(byId.Length);
        foreach (var piece in byId)
        {
            var type = piece == unkPiece ? PieceType.Unknown
                : special.Contains(piece!) ? PieceType.Control
                : IsByteToken(piece!) ? PieceType.Byte
                : PieceType.Normal;
            var score = rank.TryGetValue(piece!, out var r) ? -r - 1f : 0f;
            pieces.Add(new VocabPiece(piece!, score, type));
        }

        int Find(params string[] candidates)
        {
            foreach (var c in candidates)
            {
                if (vocab.TryGetPropertyValue(c, out var id)) return id!.GetValue<int>();
            }
            return -1;
        }
        var ids = new SpecialTokenIds(Unk: unkPiece is null ? Find("<unk>") : vocab[unkPiece]!.GetValue<int>(),
            Bos: Find("<s>", "<|begin_of_text|>", "<bos>"), Eos: Find("</s>", "<|end_of_text|>", "<eos>"));
        return (pieces, ids);
    }

    public static bool IsByteToken(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>';

    /// <summary>All merges "a b" whose concatenation is a normal piece, most valuable (highest score) first.</summary>
    private static IEnumerable<string> Merges(IReadOnlyList<VocabPiece> pieces)
    {
        var normal = new HashSet<string>(pieces.Where(p => p.Type == PieceType.Normal).Select(p => p.Piece), StringComparer.Ordinal);
        foreach (var piece in pieces.Where(p => p.Type == PieceType.Normal && p.Piece.Length > 1).OrderByDescending(p => p.Score))
        {
            for (var split = 1; split < piece.Piece.Length; split++)
            {
                var (left, right) = (piece.Piece[..split], piece.Piece[split..]);
                if (normal.Contains(left) && normal.Contains(right)) yield return $"{left} {right}";
            }
        }
    }

    private static (string, string) SplitMerge(string merge, string source)
    {
        var space = merge.IndexOf(' ', 1);
        if (space < 0) throw new ModelFormatException($"{source}: malformed merge \"{merge}\".");
        return (merge[..space], merge[(space + 1)..]);
    }
}
