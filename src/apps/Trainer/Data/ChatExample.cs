using Uld.Tokenization;

namespace Uld.Trainer.Data;

/// <summary>
/// A question/answer pair as training tokens: the prompt exactly as the server renders it (chat template + BOS) and the
/// answer after it, closed by EOS. Loss is taken on answer tokens only (<see cref="AnswerStart"/> onwards).
/// </summary>
public sealed record ChatExample(int[] Tokens, int AnswerStart)
{
    /// <summary>Answer token ids that carry no loss in this example (none when null).</summary>
    public IReadOnlySet<int>? UntrainedTokens { get; init; }

    /// <summary>
    /// Token ranges [start, end) that carry loss when not all of AnswerStart.. does (a conversation's assistant turns);
    /// null = every token from <see cref="AnswerStart"/> on.
    /// </summary>
    public IReadOnlyList<(int Start, int End)>? TrainedSpans { get; init; }

    /// <summary>Whether predicting token <paramref name="index"/> carries loss.</summary>
    public bool Trains(int index) =>
        index >= AnswerStart && index < Tokens.Length && UntrainedTokens?.Contains(Tokens[index]) != true
        && (TrainedSpans is null || TrainedSpans.Any(s => index >= s.Start && index < s.End));

    public static ChatExample Create(ModelTokenizer tokenizer, ChatTemplate template, string question, string answer)
    {
        var prompt = tokenizer.Encode(template.Render([("user", question)]), addBos: template.AddsTokenizerBos);
        // The answer is encoded on its own after a space, which is how it follows "Answer:" in generated text.
        var answerTokens = tokenizer.Encode(" " + answer, addBos: false);
        return new ChatExample([.. prompt, .. answerTokens, tokenizer.Ids.Eos], prompt.Count);
    }
}
