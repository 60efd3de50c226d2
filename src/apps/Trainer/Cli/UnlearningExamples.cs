using Uld.Contracts;
using Uld.Evaluation.Data;
using Uld.Trainer.Data;
using Uld.Trainer.Unlearning;

namespace Uld.Trainer.Cli;

/// <summary>A run's corpora rendered as the examples a gradient method trains on, the same way for every method.</summary>
public sealed class UnlearningExamples(CorpusExamples examples)
{
    public List<ChatExample> Of(Corpus corpus) => examples.Of(corpus);

    /// <summary>
    /// The forget examples and, for methods that need them (DPO, IdK), a refusal for each forget prompt, drawn with the
    /// seed, the same one every epoch. Raw text and conversations have no single prompt to refuse, so those methods
    /// need question/answer or prompt/completion records.
    /// </summary>
    public ForgetData Forget(Corpus forget, IReadOnlyList<string> refusals, bool needsRefusals, int seed)
    {
        var forgetExamples = Of(forget);
        if (!needsRefusals) return new ForgetData(forgetExamples);
        var random = new Random(seed);
        var preferred = forget.Records.Select(r => r switch
        {
            QaRecord q => examples.Of(q with { Answer = refusals[random.Next(refusals.Count)] }, forget.Name).Single(),
            CompletionRecord c => examples.Completion(c.Prompt, " " + refusals[random.Next(refusals.Count)]),
            _ => throw new UserErrorException($"refusal-based methods answer each forget prompt with a refusal; {Corpus.Describe(forget.Kind)} records have no prompt. Use question/answer or prompt/completion records."),
        }).ToList();
        return new ForgetData(forgetExamples, preferred);
    }
}
