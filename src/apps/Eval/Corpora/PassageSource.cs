using Uld.Contracts;
using Uld.Evaluation.Data;

namespace Uld.Eval.Corpora;

/// <summary>
/// A corpus record as a passage to score: <see cref="Text"/> after what precedes it — raw text
/// (<see cref="RawPrompt"/>: nothing for a text record, the prompt of a completion record) or a conversation rendered
/// by the model's chat template with the generation prompt (<see cref="Conversation"/>: the question of a QA record,
/// the turns before the last assistant turn of a chat record).
/// </summary>
public sealed record PassageSource(int Line, string Text, string RawPrompt = "", IReadOnlyList<ChatTurn>? Conversation = null)
{
    /// <summary>Every record of <paramref name="corpus"/> as a passage.</summary>
    public static IReadOnlyList<PassageSource> AllOf(Corpus corpus) => corpus.Records.Select(r => Of(corpus.Name, r)).ToList();

    private static PassageSource Of(string corpus, CorpusRecord record) => record switch
    {
        TextRecord t => new(t.Line, t.Text),
        QaRecord q => new(q.Line, q.Answer, Conversation: [new ChatTurn("user", q.Question)]),
        CompletionRecord c => new(c.Line, c.Completion, RawPrompt: c.Prompt),
        ChatRecord m => LastAssistantTurn(corpus, m),
        _ => throw new ArgumentOutOfRangeException(nameof(record), record.GetType().Name),
    };

    private static PassageSource LastAssistantTurn(string corpus, ChatRecord m)
    {
        var last = m.Messages.Select((t, i) => (t, i)).Last(x => x.t.Role == "assistant").i;
        if (last == 0) throw new UserErrorException($"{corpus}:{m.Line}: the last assistant turn is the first turn; a scored turn needs a conversation before it.");
        return new PassageSource(m.Line, m.Messages[last].Content, Conversation: m.Messages.Take(last).ToList());
    }
}
