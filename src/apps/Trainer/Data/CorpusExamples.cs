using Uld.Contracts;
using Uld.Evaluation.Data;
using Uld.Tokenization;

namespace Uld.Trainer.Data;

/// <summary>How raw text becomes training windows: at most <paramref name="Tokens"/> tokens each, a new one every <paramref name="Stride"/>.</summary>
public sealed record Chunking(int Tokens, int Stride)
{
    public static Chunking For(int contextLength, int? tokens, int? stride)
    {
        var window = tokens ?? contextLength;
        if (window < 2 || window > contextLength) throw new UserErrorException($"--chunk-tokens must be between 2 and the model's context ({contextLength}); got {window}.");
        var step = stride ?? window;
        if (step < 1 || step > window) throw new UserErrorException($"--stride must be between 1 and --chunk-tokens ({window}); got {step}.");
        return new Chunking(window, step);
    }
}

/// <summary>
/// Corpus records as training examples, each rendered the way the server will see it
/// (docs/METHODS.md, *Your own data*): question/answer through the model's chat template with loss on the answer (exactly as TOFU trains);
/// prompt/completion as raw text with loss on the completion; a conversation through the chat template with loss on every
/// assistant turn; raw text as BOS + its tokens + EOS, cut into <see cref="Chunking"/> windows. Overlapping windows
/// train only tokens no earlier window trained, so every token of a passage is learned (or unlearned) once per epoch.
/// </summary>
public sealed class CorpusExamples(ModelTokenizer tokenizer, ChatTemplate template, int contextLength, Chunking chunking)
{
    public List<ChatExample> Of(Corpus corpus) => corpus.Records.SelectMany(r => Of(r, corpus.Name)).ToList();

    /// <summary>The examples of one record (several for a passage longer than a window).</summary>
    public IEnumerable<ChatExample> Of(CorpusRecord record, string source) => record switch
    {
        TextRecord t => Chunks(t, source),
        QaRecord q => [Fit(ChatExample.Create(tokenizer, template, q.Question, q.Answer), record, source)],
        CompletionRecord c => [Fit(Completion(c.Prompt, c.Completion), record, source)],
        ChatRecord m => [Fit(Conversation(m, source), record, source)],
        _ => throw new ArgumentOutOfRangeException(nameof(record)),
    };

    /// <summary>A raw prompt continued by <paramref name="completion"/> (then EOS); loss on the completion.</summary>
    public ChatExample Completion(string prompt, string completion)
    {
        var p = tokenizer.Encode(prompt, addBos: true);
        return new ChatExample([.. p, .. tokenizer.Encode(completion, addBos: false), tokenizer.Ids.Eos], p.Count);
    }

    private IEnumerable<ChatExample> Chunks(TextRecord record, string source)
    {
        int[] tokens = [.. tokenizer.Encode(record.Text, addBos: true), tokenizer.Ids.Eos];
        if (tokens.Length < 3) throw new UserErrorException($"{source}:{record.Line}: the text is a single token; nothing to learn from it.");
        for (var start = 0; ; start += chunking.Stride)
        {
            var end = Math.Min(tokens.Length, start + chunking.Tokens);
            // Window 0 predicts from its second token; a later one only what the previous window did not reach.
            var firstTrained = start == 0 ? 1 : Math.Max(1, chunking.Tokens - chunking.Stride);
            if (firstTrained < end - start) yield return new ChatExample(tokens[start..end], firstTrained);
            if (end == tokens.Length) yield break;
        }
    }

    private ChatExample Conversation(ChatRecord record, string source)
    {
        // Each assistant turn is trained on exactly the tokens the template renders for it after the prompt the server
        // would render; that needs the tokenisation of the whole conversation to extend the prompt's.
        var messages = record.Messages.Select(m => (m.Role, m.Content)).ToList();
        var last = messages.FindLastIndex(m => m.Role == "assistant");
        var tokens = Encode(messages[..(last + 1)], addGenerationPrompt: false, record, source).ToList();
        var spans = new List<(int, int)>();
        for (var i = 0; i <= last; i++)
        {
            if (messages[i].Role != "assistant") continue;
            var prompt = Encode(messages[..i], addGenerationPrompt: true, record, source);
            var turn = Encode(messages[..(i + 1)], addGenerationPrompt: false, record, source);
            if (!IsPrefix(prompt, tokens) || !IsPrefix(turn, tokens) || turn.Count <= prompt.Count)
                throw new UserErrorException($"{source}:{record.Line}: the chat template does not render turn {i} as an extension of the conversation before it; cannot tell which tokens are the assistant's.");
            spans.Add((prompt.Count, turn.Count));
        }
        // The project's own formats end a turn with text, not a stop token: the server stops at EOS, so the last turn teaches it.
        if (template is ChatFormat && tokens[^1] != tokenizer.Ids.Eos)
        {
            tokens.Add(tokenizer.Ids.Eos);
            spans[^1] = (spans[^1].Item1, tokens.Count);
        }
        return new ChatExample([.. tokens], spans[0].Item1) { TrainedSpans = spans };
    }

    private IReadOnlyList<int> Encode(List<(string, string)> messages, bool addGenerationPrompt, ChatRecord record, string source)
    {
        try
        {
            return tokenizer.Encode(template.Render(messages, addGenerationPrompt), addBos: template.AddsTokenizerBos);
        }
        catch (ArgumentException e)
        {
            throw new UserErrorException($"{source}:{record.Line}: the model's chat template refused the conversation: {e.Message}");
        }
    }

    private static bool IsPrefix(IReadOnlyList<int> prefix, List<int> tokens) => prefix.Count <= tokens.Count && prefix.Select((t, i) => tokens[i] == t).All(x => x);

    private ChatExample Fit(ChatExample example, CorpusRecord record, string source) => example.Tokens.Length <= contextLength ? example
        : throw new UserErrorException($"{source}:{record.Line}: {example.Tokens.Length} tokens, longer than the model's context of {contextLength}; shorten the record (raw text is chunked; prompts are not).");
}
