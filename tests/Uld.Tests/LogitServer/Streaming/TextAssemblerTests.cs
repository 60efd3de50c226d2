using Uld.LogitServer.Streaming;
using Uld.Tests.Support;
using Uld.Tokenization;

namespace Uld.Tests.LogitServer.Streaming;

/// <summary>
/// Streaming detokenization with a real byte-level BPE tokenizer: characters whose UTF-8 bytes are split over several
/// tokens, and stop strings that span token (and so chunk) boundaries.
/// </summary>
public sealed class TextAssemblerTests
{
    private static readonly ModelTokenizer Tokenizer = ModelTokenizer.Load(RepositoryModels.Target);

    private static (List<string> Deltas, TextAssembler Assembler) Stream(string text, params string[] stops)
    {
        var assembler = new TextAssembler(Tokenizer, stops);
        var deltas = Tokenizer.Encode(text, addBos: false).Select(assembler.Add).ToList();
        return (deltas, assembler);
    }

    [Theory]
    [InlineData("Café au lait, naïve façade.")]
    [InlineData("Tokyo 東京 and Kraków.")]
    [InlineData("A smile 🙂 in four bytes.")]
    public void Multi_byte_characters_split_over_tokens_come_out_whole(string text)
    {
        var ids = Tokenizer.Encode(text, addBos: false);
        // The premise: this English-trained vocabulary has no token for these characters, so their bytes are split.
        Assert.Contains(ids, id => Tokenizer.Decode([id]).Contains('\uFFFD'));

        var (deltas, assembler) = Stream(text);
        Assert.DoesNotContain(deltas, d => d.Contains('\uFFFD'));
        Assert.Contains("", deltas); // a token that ends inside a character releases nothing yet
        Assert.Equal(text, string.Concat(deltas) + assembler.Flush());
        Assert.Equal(text, assembler.Text);
    }

    [Fact]
    public void A_stop_string_spanning_tokens_cuts_the_text_before_it_and_nothing_of_it_leaks()
    {
        const string text = "The author was born in Paris. END OF ANSWER and more text";
        const string stop = "END OF ANSWER";
        var ids = Tokenizer.Encode(text, addBos: false);
        var start = text.IndexOf(stop, StringComparison.Ordinal);
        var boundaries = Enumerable.Range(1, ids.Count).Select(n => Tokenizer.Decode(ids.Take(n)).Length);
        Assert.Contains(boundaries, b => b > start && b < start + stop.Length); // the premise: a token boundary inside the stop

        var (deltas, assembler) = Stream(text, stop);
        Assert.True(assembler.Stopped);
        Assert.Equal("The author was born in Paris. ", string.Concat(deltas));
        Assert.Equal("", assembler.Flush());
        Assert.Equal("", assembler.Add(ids[0])); // after the stop, nothing more
    }

    [Fact]
    public void A_tail_that_could_begin_a_stop_string_is_held_back_until_it_cannot()
    {
        // "Paris" could be the start of "Paris, France" until the next token shows otherwise.
        var (deltas, assembler) = Stream("She lives in Paris", "Paris, France");
        Assert.False(assembler.Stopped);
        Assert.Equal("She lives in ", string.Concat(deltas));
        Assert.Equal("Paris", assembler.Flush()); // generation ended: what was held back is released

        var (more, other) = Stream("She lives in Paris now", "Paris, France");
        Assert.Equal("She lives in Paris now", string.Concat(more) + other.Flush());
        Assert.False(other.Stopped);
    }

    [Fact]
    public void The_earliest_of_several_stop_strings_wins_even_when_a_later_one_completes_in_the_same_token()
    {
        var (deltas, assembler) = Stream("one two three four", "three", "two");
        Assert.True(assembler.Stopped);
        Assert.Equal("one ", string.Concat(deltas));
    }

    [Fact]
    public void A_sentencepiece_completion_keeps_the_leading_space_its_prompt_token_gives_it_and_skips_special_tokens()
    {
        var llama2 = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory("llama2"));
        var ids = llama2.Encode("Once upon a time there was", addBos: true);
        Assert.True(llama2.StripsLeadingSpace && llama2.IsSpecial(ids[0])); // the premise: '▁' pieces, a special BOS
        var expected = llama2.Decode(ids, skipSpecialTokens: true);

        // A chat answer starts a text: BOS is skipped and the first piece's space dropped, as Decode does.
        var fromStart = new TextAssembler(llama2, []);
        Assert.Equal(expected, string.Concat(ids.Select(fromStart.Add)) + fromStart.Flush());

        // A completion continues its prompt's last token: " there was" keeps its space.
        var continuing = new TextAssembler(llama2, [], contextToken: ids[4]);
        Assert.Equal(" there was", string.Concat(ids.Skip(5).Select(continuing.Add)) + continuing.Flush());
        Assert.Equal("", continuing.Add(ids[0])); // a special token adds nothing
    }
}
