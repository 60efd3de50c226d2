using System.Text.Json.Nodes;

namespace Uld.Tokenization.HuggingFace;

/// <summary>The text between added tokens through tokenizer.json's normalizer, pre-tokenizer and BPE model.</summary>
public sealed class BpeSegmentEncoder(Func<string, string> normalize, WordSplitter splitter, BpeModel model)
{
    public WordSplitter Splitter => splitter;

    public static BpeSegmentEncoder FromJson(JsonObject json, IReadOnlyDictionary<string, int> vocab, string source) =>
        new(TextNormalizer.FromJson(json["normalizer"], source), WordSplitter.FromJson(json["pre_tokenizer"], source),
            BpeModel.Create(json["model"]!.AsObject(), vocab, source));

    public void Encode(string text, List<int> ids)
    {
        foreach (var word in splitter.Split(normalize(text))) model.Encode(word, ids);
    }
}
