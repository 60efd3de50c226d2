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

    public static ChatExample Create(ModelTokenizer tokenizer, ChatTemplate template, string question, string answer)
    {
        var prompt = tokenizer.Encode(template.Render([("user", question)]), addBos: template.AddsTokenizerBos);
        // The answer is encoded on its own after a space, which is how it follows "Answer:" in generated text.
        var answerTokens = tokenizer.Encode(" " + answer, addBos: false);
        return new ChatExample([.. prompt, .. answerTokens, tokenizer.Ids.Eos], prompt.Count);
    }
}
