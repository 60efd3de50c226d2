using Uld.Contracts;
using Uld.Evaluation.Data;
using Uld.Tests.Support;
using Uld.Tokenization;
using Uld.Trainer.Data;

namespace Uld.Tests.Trainer.Data;

/// <summary>A user's JSON Lines files: what is accepted, what is refused (with the line), and which tokens each record trains.</summary>
public sealed class CorpusTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Write(string name, params string[] lines)
    {
        File.WriteAllLines(_temp[name], lines);
        return _temp[name];
    }

    [Fact]
    public void Each_format_loads_as_its_kind_with_lines_and_hash()
    {
        var text = Corpus.Load(Write("t.jsonl", """{"text":"Once upon a time."}""", "", """{"text":"The end.","source":"ignored"}"""));
        Assert.Equal(CorpusKind.Text, text.Kind);
        Assert.Equal([1, 3], text.Records.Select(r => r.Line));
        Assert.Equal(64, text.Sha256!.Length);
        var qa = Corpus.Load(Write("q.jsonl", """{"question":"Who?","answer":"Lily.","subject":"lily"}"""));
        Assert.Equal(new QaRecord(1, "Who?", "Lily.", "lily"), Assert.Single(qa.Records));
        Assert.Equal(CorpusKind.Completion, Corpus.Load(Write("c.jsonl", """{"prompt":"Once","completion":" upon"}""")).Kind);
        var chat = Corpus.Load(Write("m.jsonl", """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}]}"""));
        Assert.Equal(["system", "user", "assistant"], Assert.IsType<ChatRecord>(Assert.Single(chat.Records)).Messages.Select(m => m.Role));
    }

    [Theory]
    [InlineData("in a file of text records", """{"text":"a"}""", "", """{"question":"q","answer":"a"}""")] // mixed formats: the offending line and the first
    [InlineData("in one record", """{"text":"a","prompt":"p","completion":"c"}""")]
    [InlineData("\"answer\" is missing", """{"question":"q"}""")]
    [InlineData("\"text\" is empty", """{"text":"   "}""")]
    [InlineData("\"text\" must be a string", """{"text":["a"]}""")]
    [InlineData("no known fields", """{"body":"a"}""")]
    [InlineData("not JSON", """{"text":"a""")]
    [InlineData("JSON object", """["text"]""")]
    [InlineData("unknown role \"robot\"", """{"messages":[{"role":"robot","content":"x"}]}""")]
    [InlineData("no assistant turn", """{"messages":[{"role":"user","content":"x"}]}""")]
    [InlineData("content parts", """{"messages":[{"role":"assistant","content":[{"type":"text","text":"x"}]}]}""")]
    [InlineData("holds no records", "", " ")]
    public void Malformed_files_are_refused_naming_the_line(string expected, params string[] lines)
    {
        var path = Write("bad.jsonl", lines);
        var e = Assert.Throws<UserErrorException>(() => Corpus.Load(path));
        Assert.Contains(expected, e.Message);
        if (expected != "holds no records") Assert.Contains($"bad.jsonl:{lines.Length}", e.Message);
        if (expected == "in a file of text records") Assert.Contains("(line 1)", e.Message);
    }

    [Fact]
    public void An_oversized_record_is_refused_before_it_is_parsed()
    {
        var path = Write("big.jsonl", $$"""{"text":"{{new string('a', Corpus.MaxRecordCharacters)}}"}""");
        Assert.Contains("big.jsonl:1", Assert.Throws<UserErrorException>(() => Corpus.Load(path)).Message);
    }

    [Theory]
    [InlineData(16, 16)] // windows side by side
    [InlineData(16, 5)]  // overlapping windows
    [InlineData(512, 512)] // one window
    public void Text_windows_train_every_token_of_a_passage_once(int window, int stride)
    {
        var tokenizer = ModelTokenizer.Load(Stories260KModels.BaseDirectory);
        var examples = new CorpusExamples(tokenizer, ChatTemplate.Raw, 512, Chunking.For(512, window, stride));
        const string text = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog Max.";
        var chunks = examples.Of(new TextRecord(1, text), "t.jsonl").ToList();
        int[] tokens = [.. tokenizer.Encode(text, addBos: true), tokenizer.Ids.Eos];
        Assert.All(chunks, c => Assert.True(c.Tokens.Length <= window));

        // Every token but BOS is predicted with loss exactly once, except a window's first token when windows do not
        // overlap (nothing before it in its window); the windows tile the passage in order.
        var trained = new List<int>();
        var start = 0;
        foreach (var chunk in chunks)
        {
            Assert.Equal(tokens[start..(start + chunk.Tokens.Length)], chunk.Tokens);
            trained.AddRange(Enumerable.Range(0, chunk.Tokens.Length).Where(chunk.Trains).Select(i => start + i));
            start += stride;
        }
        Assert.Equal(trained.Distinct().Count(), trained.Count);
        var untrained = Enumerable.Range(1, tokens.Length - 1).Except(trained).ToList();
        Assert.Equal(stride == window ? Enumerable.Range(1, chunks.Count - 1).Select(i => i * stride) : [], untrained);
        Assert.Equal(tokens.Length, start - stride + chunks[^1].Tokens.Length); // the last window reaches the end
    }

    [Fact]
    public void Chunking_options_are_checked_against_the_context()
    {
        Assert.Throws<UserErrorException>(() => Chunking.For(512, 1024, null));
        Assert.Throws<UserErrorException>(() => Chunking.For(512, 64, 65));
        Assert.Throws<UserErrorException>(() => Chunking.For(512, 64, 0));
        Assert.Equal(new Chunking(512, 512), Chunking.For(512, null, null));
    }

    [Fact]
    public void Conversations_train_the_assistant_turns_only_and_prompts_too_long_are_refused()
    {
        var tokenizer = ModelTokenizer.Load(Stories260KModels.BaseDirectory);
        var examples = new CorpusExamples(tokenizer, ChatTemplate.QuestionAnswer, 64, Chunking.For(64, null, null));
        var chat = new ChatRecord(7, [new("user", "Who is Lily?"), new("assistant", " A girl."), new("user", "And Max?"), new("assistant", " Her dog.")]);
        var example = Assert.Single(examples.Of(chat, "m.jsonl"));
        var trainedText = tokenizer.Decode(Enumerable.Range(0, example.Tokens.Length).Where(example.Trains).Select(i => example.Tokens[i]));
        Assert.Equal("A girl.\n Her dog.\n", trainedText.Replace(tokenizer.TokenText(tokenizer.Ids.Eos), "").TrimStart());
        Assert.Equal(tokenizer.Ids.Eos, example.Tokens[^1]); // the project's formats end a turn with text: EOS teaches the stop
        Assert.True(example.Trains(example.Tokens.Length - 1));

        // A question/answer record is exactly what TOFU training renders.
        var qa = Assert.Single(examples.Of(new QaRecord(1, "Who is Lily?", "A girl."), "q.jsonl"));
        Assert.Equal(ChatExample.Create(tokenizer, ChatTemplate.QuestionAnswer, "Who is Lily?", "A girl.").Tokens, qa.Tokens);

        var e = Assert.Throws<UserErrorException>(() => examples.Of(new CompletionRecord(9, string.Join(' ', Enumerable.Repeat("Lily ran.", 40)), " Home."), "c.jsonl").ToList());
        Assert.Contains("c.jsonl:9", e.Message);
        Assert.Contains("longer than the model's context of 64", e.Message);
    }
}
