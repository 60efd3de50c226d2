using Uld.Trainer.Tokenizer;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Tokenization;
using Uld.Tests.Support;

namespace Uld.Tests.Trainer.Tokenizer;

/// <summary>Byte-level BPE trained on TOFU text, loaded through the project's tokenizer (Uld.Tokenization).</summary>
public sealed class ByteLevelBpeTests
{
    private static IEnumerable<string> TofuTexts() => File.ReadLines(SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu", "full.json")))
        .Select(line => JsonNode.Parse(line)!)
        .SelectMany(r => new[] { r["question"]!.GetValue<string>(), r["answer"]!.GetValue<string>() });

    [Fact]
    [Trait(Category.Name, Category.Slow)]
    public void Trained_tokenizer_round_trips_all_of_tofu_compactly_and_deterministically()
    {
        var texts = TofuTexts().ToList();
        var clock = Stopwatch.StartNew();
        var result = ByteLevelBpeTrainer.Train(texts, vocabSize: 768);
        var seconds = clock.Elapsed.TotalSeconds;
        Assert.Equal(768, result.Vocabulary.Count);
        Assert.Equal(ByteLevelBpeTrainer.ToTokenizerJson(result).ToJsonString(), ByteLevelBpeTrainer.ToTokenizerJson(ByteLevelBpeTrainer.Train(texts, 768)).ToJsonString());

        using var temp = new TempDirectory();
        File.WriteAllText(temp["tokenizer.json"], ByteLevelBpeTrainer.ToTokenizerJson(result).ToJsonString(Uld.Contracts.Json.Options));
        var tokenizer = ModelTokenizer.Load(temp.Path);
        Assert.Equal((1, 2, 0), (tokenizer.Ids.Bos, tokenizer.Ids.Eos, tokenizer.Ids.Pad));
        Assert.Equal(768, tokenizer.VocabSize);

        long characters = 0, tokens = 0;
        foreach (var text in texts)
        {
            var ids = tokenizer.Encode(text, addBos: false);
            Assert.Equal(text, tokenizer.Decode(ids));
            characters += text.Length;
            tokens += ids.Count;
        }
        Assert.True(tokens < 0.4 * characters, $"{tokens} tokens for {characters} characters ({seconds:F1} s to train)");
        Assert.Equal("Once upon a time 🐱 ñ", tokenizer.Decode(tokenizer.Encode("Once upon a time 🐱 ñ", addBos: false))); // unseen bytes still encode
        Assert.Equal(1, tokenizer.Encode("hi", addBos: true)[0]);
    }

    [Fact]
    public void Too_small_a_vocabulary_or_an_empty_corpus_is_refused()
    {
        Assert.Throws<Uld.Contracts.UserErrorException>(() => ByteLevelBpeTrainer.Train(["some text"], vocabSize: 100));
        Assert.Throws<Uld.Contracts.UserErrorException>(() => ByteLevelBpeTrainer.Train([], vocabSize: 512));
    }
}
