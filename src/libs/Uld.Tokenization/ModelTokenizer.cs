using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Tokenization.HuggingFace;

namespace Uld.Tokenization;

/// <summary>
/// The tokenizer of a model directory, read from its Hugging Face tokenizer.json (+ tokenizer_config.json) and
/// producing the same ids and text as Hugging Face: added tokens are split out first, the text between them goes
/// through the model's normaliser, pre-tokenizer and BPE (<see cref="BpeSegmentEncoder"/>), and BOS is added where the
/// tokenizer's post-processor (or add_bos_token) adds it. Supported: SentencePiece-style BPE with byte fallback
/// (Llama 2, llama2.c) and byte-level BPE (GPT-2 style, Llama 3, Qwen).
/// </summary>
public sealed class ModelTokenizer
{
    /// <summary>UTF-8 that replaces invalid sequences with U+FFFD, as Hugging Face's decoders do.</summary>
    internal static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly AddedTokenSplitter _addedTokens;
    private readonly BpeSegmentEncoder _encoder;
    private readonly byte[][] _tokenBytes;
    private readonly int? _prependedBos;
    private readonly HashSet<int> _specialIds;

    public SpecialTokenIds Ids { get; }
    public int VocabSize => _tokenBytes.Length;

    /// <summary>Whether decoding drops one leading space (SentencePiece's dummy prefix, tokenizer.json's Strip decoder).</summary>
    public bool StripsLeadingSpace { get; }

    private ModelTokenizer(AddedTokenSplitter addedTokens, BpeSegmentEncoder encoder, byte[][] tokenBytes, SpecialTokenIds ids,
        int? prependedBos, bool stripsLeadingSpace, HashSet<int> specialIds)
    {
        (_addedTokens, _encoder, _tokenBytes, Ids, _prependedBos, StripsLeadingSpace, _specialIds) =
            (addedTokens, encoder, tokenBytes, ids, prependedBos, stripsLeadingSpace, specialIds);
    }

    /// <summary>Whether the id is an added token marked special (BOS, EOS, chat markers such as &lt;|eot_id|&gt;).</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>The bytes one token contributes to decoded text (an added token contributes its content).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => id >= 0 && id < _tokenBytes.Length ? _tokenBytes[id] : [];

    /// <summary>
    /// The text one token stands for on its own (what logprobs report): '▁' shown as a space, a byte piece as its
    /// byte (a lone UTF-8 continuation byte shows as U+FFFD, as OpenAI's API does).
    /// </summary>
    public string TokenText(int id) => Utf8.GetString(TokenBytes(id));

    /// <summary>Token ids of <paramref name="text"/>; <paramref name="addBos"/> adds BOS if this tokenizer adds one (Llama 2 and the project's tokenizers do, Llama 3 and Qwen files do not).</summary>
    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos && _prependedBos is { } bos) ids.Add(bos);
        foreach (var segment in _addedTokens.Split(text))
        {
            if (segment.AddedTokenId is { } id) ids.Add(id);
            else _encoder.Encode(segment.Text, ids);
        }
        return ids;
    }

    /// <summary>
    /// Text of <paramref name="ids"/>. Like Hugging Face's <c>decode</c>, special tokens are written out unless
    /// <paramref name="skipSpecialTokens"/> (what text shown to a user wants: no "&lt;s&gt;" in an echoed prompt).
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (!(skipSpecialTokens && IsSpecial(id))) bytes.AddRange(TokenBytes(id));
        }
        var text = Utf8.GetString(bytes.ToArray());
        return StripsLeadingSpace && text.StartsWith(' ') ? text[1..] : text;
    }

    public IncrementalDecoder CreateIncrementalDecoder() => new(this);

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
        var config = TokenizerConfig.Load(modelDirectory);
        var type = json["model"]?["type"]?.GetValue<string>();
        if (type != "BPE")
            throw new ModelFormatException($"{jsonPath}: unsupported tokenizer model type \"{type ?? "(none)"}\"; supported: BPE (SentencePiece-style with byte fallback, or byte-level).");
        var added = TokenizerJson.AddedTokens(json, jsonPath);
        var vocab = TokenizerJson.Vocabulary(json, jsonPath);
        var encoder = BpeSegmentEncoder.FromJson(json, vocab, jsonPath);
        var byId = new string?[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (piece, id) in vocab) byId[id] = piece;
        var pieceBytes = encoder.Splitter.IsByteLevel ? byId.Select(ByteLevelPieceBytes) : byId.Select(MetaspacePieceBytes);
        var ids = TokenizerJson.SpecialIds(config, vocab, added);
        return new ModelTokenizer(new AddedTokenSplitter(added.Select(a => (a.Content, a.Id))), encoder,
            TokenizerJson.WithAddedTokens(pieceBytes, added), ids, TokenizerJson.PrependedBos(json, config, ids), TokenizerJson.StripsLeadingSpace(json),
            added.Where(a => a.Special).Select(a => a.Id).ToHashSet());
    }

    /// <summary>SentencePiece-style pieces: '▁' is a space, "&lt;0xNN&gt;" is the byte NN.</summary>
    private static byte[] MetaspacePieceBytes(string? piece) =>
        piece is null ? []
        : SentencePieceTokenizerJson.IsByteToken(piece) ? [Convert.ToByte(piece[3..5], 16)]
        : Utf8.GetBytes(piece.Replace(SentencePieceTokenizerJson.SpaceMarker, ' '));

    private static readonly Dictionary<char, byte> CharToByte =
        ByteLevel.ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    private static byte[] ByteLevelPieceBytes(string? piece) =>
        piece is null ? []
        : piece.All(CharToByte.ContainsKey) ? piece.Select(c => CharToByte[c]).ToArray()
        : Utf8.GetBytes(piece);
}
