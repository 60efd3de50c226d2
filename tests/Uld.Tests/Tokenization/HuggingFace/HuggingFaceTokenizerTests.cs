using System.Text;
using Uld.Tests.Support;
using Uld.Tokenization;

namespace Uld.Tests.Tokenization.HuggingFace;

/// <summary>The real Llama 2, Llama 3 and Qwen3 tokenizers against Hugging Face's own ids and decoded text.</summary>
public sealed class HuggingFaceTokenizerTests
{
    public static TheoryData<string> Tokenizers => new() { "llama2", "llama3", "qwen3" };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Encode_gives_hugging_face_ids(string name)
    {
        var tokenizer = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory(name));
        var cases = TokenizerFixtures.Cases($"{name}.tokenize.json");
        Assert.True(cases.Count > 300, $"only {cases.Count} fixture cases");
        var mismatches = new List<string>();
        foreach (var c in cases)
        {
            var text = c!["text"]!.GetValue<string>();
            var expected = TokenizerFixtures.Ints(c["ids"]);
            var actual = tokenizer.Encode(text, addBos: false);
            if (!expected.SequenceEqual(actual)) mismatches.Add($"{Escape(text)}: expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
            var withSpecial = TokenizerFixtures.Ints(c["ids_with_special_tokens"]);
            if (!withSpecial.SequenceEqual(tokenizer.Encode(text, addBos: true))) mismatches.Add($"{Escape(text)} with special tokens: expected [{string.Join(",", withSpecial)}]");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {cases.Count} differ:\n{string.Join("\n", mismatches.Take(15))}");
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Decode_gives_hugging_face_text_and_streams_it_without_half_characters(string name)
    {
        var tokenizer = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory(name));
        var mismatches = new List<string>();
        foreach (var c in TokenizerFixtures.Cases($"{name}.tokenize.json"))
        {
            var ids = TokenizerFixtures.Ints(c!["ids"]);
            var expected = c["decoded"]!.GetValue<string>();
            if (tokenizer.Decode(ids) != expected) mismatches.Add($"{Escape(expected)}: got {Escape(tokenizer.Decode(ids))}");

            var decoder = tokenizer.CreateIncrementalDecoder();
            var streamed = new StringBuilder();
            foreach (var id in ids)
            {
                var piece = decoder.Push(id);
                Assert.False(piece.Length > 0 && char.IsHighSurrogate(piece[^1]), $"half a surrogate pair emitted for {Escape(expected)}");
                Assert.DoesNotContain('\uFFFD', piece); // fixtures hold valid text only: a U+FFFD would be a split character
                streamed.Append(piece);
            }
            streamed.Append(decoder.Flush());
            if (streamed.ToString() != expected) mismatches.Add($"streamed {Escape(streamed.ToString())} != {Escape(expected)}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(15)));
    }

    [Fact]
    public void Special_token_text_is_parsed_as_the_special_id_but_look_alikes_stay_text()
    {
        var llama3 = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory("llama3"));
        Assert.Equal([128009], llama3.Encode("<|eot_id|>", addBos: false));
        Assert.DoesNotContain(128009, llama3.Encode("<|EOT_ID|> <|eot_id <| eot_id|>", addBos: false));
        var qwen3 = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory("qwen3"));
        Assert.Equal((-1, 151645), (qwen3.Ids.Bos, qwen3.Ids.Eos)); // Qwen has no BOS; <|im_end|> ends a turn
        Assert.Equal(151669, qwen3.VocabSize);
        Assert.Equal("<think>", qwen3.TokenText(151667));
    }

    [Fact]
    public void A_character_split_over_byte_tokens_is_held_back_until_complete()
    {
        var llama2 = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory("llama2"));
        var ids = llama2.Encode("𠀀", addBos: false); // not in the vocabulary: byte fallback, four byte tokens after '▁'
        Assert.Equal(5, ids.Count);
        var decoder = llama2.CreateIncrementalDecoder();
        Assert.Equal(["", "", "", "", "𠀀"], ids.Select(decoder.Push).ToArray());
        Assert.Equal("", decoder.Flush());

        var truncated = llama2.CreateIncrementalDecoder();
        foreach (var id in ids.Take(3)) Assert.Equal("", truncated.Push(id));
        Assert.Equal("\uFFFD", truncated.Flush()); // an unfinished character at the end is replaced, never dropped silently
    }

    private static string Escape(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
