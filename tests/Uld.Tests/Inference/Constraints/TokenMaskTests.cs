using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Uld.Inference.Constraints;
using Uld.LogitServer.StructuredOutput;
using Uld.Tests.Support;
using Uld.Tests.Tokenization;
using Uld.Tokenization;

namespace Uld.Tests.Inference.Constraints;

/// <summary>
/// Token masks over the real Llama-3 (128K, byte-level) and Llama-2 (32K, byte fallback) vocabularies: the trie walk
/// and the in-string shortcut allow exactly the tokens whose bytes keep the text valid, special tokens never, EOS only
/// where the value is complete; and tokens drawn at random from the masks always make text that parses and validates.
/// </summary>
public sealed class TokenMaskTests
{
    private static readonly Dictionary<string, Lazy<(ModelTokenizer Tokenizer, TokenVocabulary Vocabulary)>> Vocabularies = new[] { "llama3", "llama2" }
        .ToDictionary(name => name, name => new Lazy<(ModelTokenizer, TokenVocabulary)>(() =>
        {
            var tokenizer = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory(name));
            return (tokenizer, ConstraintVocabularies.Create(tokenizer));
        }));

    public static TheoryData<string> Tokenizers => new() { "llama3", "llama2" };

    private static JsonGrammar Grammar(string schema) => new(JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement));

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Every_allowed_token_keeps_the_text_valid_and_every_other_token_is_masked(string name)
    {
        var (tokenizer, vocabulary) = Vocabularies[name].Value;
        var cases = new (JsonGrammar Grammar, string Text)[]
        {
            (JsonGrammar.AnyObject, """{"note": "Kraków 🦜 \"q\" \u00e9", "n": [-1.5e3, true, null], "o": {}}"""),
            (Grammar(StructuredOutputSchemas.All[0].Schema), """{"name": "Ann", "age": 31}"""),
            (Grammar(StructuredOutputSchemas.All[1].Schema), """{"bright": false, "colour": "green"}"""),
        };
        var checkedStates = 0;
        foreach (var (grammar, text) in cases)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            // Every few bytes, and inside a multi-byte character (the 🦜 and ó are split by the byte-level tokens).
            for (var cut = 0; cut < bytes.Length; cut += 3)
            {
                var state = grammar.Start().Step(bytes.AsSpan(0, cut))!;
                var mask = vocabulary.AllowedTokens(state);
                for (var id = 0; id < vocabulary.Size; id++)
                {
                    var tokenBytes = vocabulary.Bytes(id);
                    var expected = !tokenizer.IsSpecial(id) && tokenBytes.Length > 0 && state.Step(tokenBytes) is not null;
                    if (expected != TokenVocabulary.IsSet(mask, id))
                        Assert.Fail($"after '{Encoding.UTF8.GetString(bytes, 0, cut)}': token {id} '{tokenizer.TokenText(id)}' should be {(expected ? "allowed" : "masked")}");
                }
                Assert.Contains(Enumerable.Range(0, vocabulary.Size), id => TokenVocabulary.IsSet(mask, id));
                checkedStates++;
            }
        }
        Assert.True(checkedStates >= 30);
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void The_end_is_allowed_only_when_the_value_is_complete_and_then_alone(string name)
    {
        var (tokenizer, vocabulary) = Vocabularies[name].Value;
        var eos = tokenizer.Ids.Eos;
        var constraint = new JsonTokenConstraint(Grammar("""{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}"""),
            new TokenMaskCache(vocabulary), eos);
        var scores = new float[vocabulary.Size];
        foreach (var token in tokenizer.Encode("""{"n": 42""", addBos: false))
        {
            Array.Clear(scores);
            Assert.True(constraint.Mask(scores));
            Assert.Equal(float.NegativeInfinity, scores[eos]);
            Assert.NotEqual(float.NegativeInfinity, scores[token]);
            constraint.Advance(token);
        }
        foreach (var token in tokenizer.Encode("}", addBos: false)) constraint.Advance(token);
        Array.Clear(scores);
        scores[eos] = float.NegativeInfinity; // even a decode rule that filtered EOS out cannot keep a finished value going
        Assert.True(constraint.Mask(scores));
        Assert.Equal([eos], Enumerable.Range(0, scores.Length).Where(v => !float.IsNegativeInfinity(scores[v])));
    }

    [Fact]
    public void When_the_decode_rule_left_no_allowed_token_the_choice_among_the_allowed_ones_is_uniform()
    {
        var (tokenizer, vocabulary) = Vocabularies["llama2"].Value;
        var constraint = new JsonTokenConstraint(JsonGrammar.AnyObject, new TokenMaskCache(vocabulary), tokenizer.Ids.Eos);
        var scores = Enumerable.Repeat(float.NegativeInfinity, vocabulary.Size).ToArray();
        var brace = tokenizer.Encode("{", addBos: false)[^1];
        scores[tokenizer.Encode("Once", addBos: false)[^1]] = 5; // what ULD's filter kept: not JSON
        Assert.True(constraint.Mask(scores));
        Assert.Equal(0, scores[brace]);
        Assert.All(Enumerable.Range(0, scores.Length).Where(v => !float.IsNegativeInfinity(scores[v])), v => Assert.Equal(0, scores[v]));
        Assert.All(Enumerable.Range(0, scores.Length).Where(v => !float.IsNegativeInfinity(scores[v])),
            v => Assert.NotNull(JsonGrammar.AnyObject.Start().Step(vocabulary.Bytes(v))));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Tokens_drawn_at_random_from_the_masks_always_make_valid_json(string name)
    {
        var (tokenizer, vocabulary) = Vocabularies[name].Value;
        var eos = tokenizer.Ids.Eos;
        var random = new Random(26);
        foreach (var (schemaName, schema) in StructuredOutputSchemas.All)
        {
            for (var sample = 0; sample < 3; sample++)
            {
                var constraint = new JsonTokenConstraint(Grammar(schema), new TokenMaskCache(vocabulary), eos);
                var tokens = new List<int>();
                var scores = new float[vocabulary.Size];
                while (tokens.Count < 2000)
                {
                    Array.Clear(scores);
                    Assert.True(constraint.Mask(scores));
                    var allowed = Enumerable.Range(0, scores.Length).Where(v => !float.IsNegativeInfinity(scores[v])).ToList();
                    // Half the time the end when it may come, so outputs are not all as long as they can be.
                    var token = allowed.Contains(eos) && random.Next(2) == 0 ? eos : allowed[random.Next(allowed.Count)];
                    constraint.Advance(token);
                    if (token == eos) break;
                    tokens.Add(token);
                }
                var text = tokenizer.Decode(tokens);
                Assert.True(StructuredOutputSchemas.Problem(schema, text) is null, $"{schemaName}: {StructuredOutputSchemas.Problem(schema, text)}");
            }
        }
    }

    [Fact]
    public void The_llama3_vocabulary_builds_once_in_well_under_a_few_seconds()
    {
        var tokenizer = ModelTokenizer.Load(TokenizerFixtures.TokenizerDirectory("llama3"));
        var watch = Stopwatch.StartNew();
        var vocabulary = ConstraintVocabularies.Create(tokenizer);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"{watch.Elapsed}");
        Assert.Equal(tokenizer.VocabSize, vocabulary.Size);
        Assert.True(vocabulary.TrieNodes > 100_000);
        Assert.Same(ConstraintVocabularies.For(tokenizer), ConstraintVocabularies.For(tokenizer));
    }
}
