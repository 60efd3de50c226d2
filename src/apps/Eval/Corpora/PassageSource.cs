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
    public static PassageSource Of(CorpusRecord record) => record switch
    {
        TextRecord t => new(t.Line, t.Text),
        QaRecord q => new(q.Line, q.Answer, Conversation: [new ChatTurn("user", q.Question)]),
        CompletionRecord c => new(c.Line, c.Completion, RawPrompt: c.Prompt),
        ChatRecord m => LastAssistantTurn(m),
        _ => throw new ArgumentOutOfRangeException(nameof(record), record.GetType().Name),
    };

    private static PassageSource LastAssistantTurn(ChatRecord m)
    {
        var last = m.Messages.Select((t, i) => (t, i)).Last(x => x.t.Role == "assistant").i;
        if (last == 0) throw new UserErrorException($"line {m.Line}: the last assistant turn has no turn before it to follow.");
        return new PassageSource(m.Line, m.Messages[last].Content, Conversation: m.Messages.Take(last).ToList());
    }
}
