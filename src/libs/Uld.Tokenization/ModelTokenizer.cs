using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using Uld.Contracts.Models;

namespace Uld.Tokenization;

/// <summary>
/// The tokenizer of a model directory, as a Microsoft.ML.Tokenizers <see cref="Tokenizer"/> plus the special ids
/// that decoding needs. Supported: SentencePiece BPE (tokenizer.model, or a Llama-style tokenizer.json with byte
/// fallback) and byte-level BPE tokenizer.json (GPT-2 style).
/// </summary>
public sealed class ModelTokenizer
{
    public Tokenizer Tokenizer { get; }
    public SpecialTokenIds Ids { get; }
    public int VocabSize { get; }

    private readonly string[] _tokenTexts;

    private ModelTokenizer(Tokenizer tokenizer, SpecialTokenIds ids, string[] tokenTexts)
    {
        Tokenizer = tokenizer;
        Ids = ids;
        VocabSize = tokenTexts.Length;
        _tokenTexts = tokenTexts;
    }

    /// <summary>
    /// The text one token stands for on its own (what logprobs report): '▁' shown as a space, a byte piece as its
    /// byte (a lone UTF-8 continuation byte shows as U+FFFD, as OpenAI's API does).
    /// </summary>
    public string TokenText(int id) => id >= 0 && id < _tokenTexts.Length ? _tokenTexts[id] : "";

    private static string PieceText(VocabPiece piece) => piece.Type switch
    {
        PieceType.Byte => System.Text.Encoding.UTF8.GetString([Convert.ToByte(piece.Piece[3..5], 16)]),
        _ => piece.Piece.Replace(SentencePieceTokenizerJson.SpaceMarker, ' '),
    };

    public static ModelTokenizer Load(string modelDirectory)
    {
        var jsonPath = Path.Combine(modelDirectory, ModelDirectory.TokenizerFile);
        if (!File.Exists(jsonPath)) throw new ModelFormatException($"{modelDirectory} has no {ModelDirectory.TokenizerFile}.");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(jsonPath))?.AsObject() ?? throw new JsonException("empty file");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFormatException($"{jsonPath} is not valid JSON: {e.Message}");
        }

        if (SentencePieceTokenizerJson.IsSentencePieceStyle(json))
        {
            var (pieces, ids) = SentencePieceTokenizerJson.ReadPieces(json, jsonPath);
            // The SentencePiece model is derived from tokenizer.json, the contract's source of truth, so the two can't disagree.
            using var model = new MemoryStream(SentencePieceModelWriter.Write(pieces, ids));
            return new ModelTokenizer(LlamaTokenizer.Create(model, addBeginOfSentence: false, addEndOfSentence: false), ids,
                pieces.Select(PieceText).ToArray());
        }

        if (IsByteLevelBpe(json)) return LoadByteLevel(json, jsonPath);

        var type = json["model"]?["type"]?.GetValue<string>() ?? "(none)";
        throw new ModelFormatException(
            $"{jsonPath}: unsupported tokenizer format (model type \"{type}\"); supported: SentencePiece-style BPE with byte fallback, byte-level BPE.");
    }

    private static bool IsByteLevelBpe(JsonObject json) =>
        json["model"]?["type"]?.GetValue<string>() == "BPE" && json["pre_tokenizer"]?["type"]?.GetValue<string>() == "ByteLevel";

    /// <summary>GPT-2 style byte-level BPE (what <see cref="ByteLevelBpeTrainer"/> writes), as a Microsoft.ML.Tokenizers BpeTokenizer.</summary>
    private static ModelTokenizer LoadByteLevel(JsonObject json, string source)
    {
        var model = json["model"]!.AsObject();
        var vocab = (model["vocab"]?.AsObject() ?? throw new ModelFormatException($"{source}: model.vocab is missing."))
            .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);
        var merges = (model["merges"]?.AsArray() ?? []).Select(m => m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m!.GetValue<string>()).ToList();
        var specials = (json["added_tokens"]?.AsArray() ?? [])
            .Where(t => t?["special"]?.GetValue<bool>() == true)
            .ToDictionary(t => t!["content"]!.GetValue<string>(), t => t!["id"]!.GetValue<int>(), StringComparer.Ordinal);
        var tokenizer = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(ByteLevel.PreTokenizer(), specials),
            SpecialTokens = specials,
        });
        int Special(params string[] names) => names.Select(n => specials.GetValueOrDefault(n, -1)).FirstOrDefault(id => id >= 0, -1);
        var ids = new SpecialTokenIds(Unk: -1, Bos: Special("<s>", "<|begin_of_text|>", "<|endoftext|>"), Eos: Special("</s>", "<|end_of_text|>", "<|endoftext|>"),
            Pad: Special("<pad>") is var pad && pad >= 0 ? pad : null);
        var texts = new string[vocab.Count];
        var charToByte = ByteLevel.ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);
        foreach (var (piece, id) in vocab)
        {
            texts[id] = specials.ContainsKey(piece) || !piece.All(charToByte.ContainsKey)
                ? piece
                : System.Text.Encoding.UTF8.GetString(piece.Select(c => charToByte[c]).ToArray());
        }
        return new ModelTokenizer(tokenizer, ids, texts);
    }

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = Tokenizer.EncodeToIds(text);
        if (!addBos) return ids;
        var withBos = new List<int>(ids.Count + 1) { Ids.Bos };
        withBos.AddRange(ids);
        return withBos;
    }

    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids);
}
