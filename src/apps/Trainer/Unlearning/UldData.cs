using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Training;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// The augmented ULD training sets (docs/METHODS.md, *ULD assistant*): D′f = forget QA plus their paraphrased answers ("remember");
/// D′r = min(400, |forget|) real retain QA plus the forget questions with two perturbed (wrong) answers each
/// ("know nothing": the assistant must not learn the question alone is enough to answer).
/// </summary>
public static class UldData
{
    public static (List<ChatExample> Forget, List<ChatExample> Retain) Build(IReadOnlyList<TofuRecord> forget, IReadOnlyList<TofuRecord> retain,
        ModelTokenizer tokenizer, ChatTemplate template, int seed)
    {
        ChatExample Example(string q, string a) => ChatExample.Create(tokenizer, template, q, a);
        var forgetSet = forget.Select(r => Example(r.Question, r.Answer))
            .Concat(forget.Where(r => r.ParaphrasedAnswer is not null).Select(r => Example(r.Question, r.ParaphrasedAnswer!)))
            .ToList();
        var order = CausalLmTrainer.Shuffle(retain.Count, seed, 0);
        var retainSet = order.Take(Math.Min(400, forget.Count)).Select(i => Example(retain[i].Question, retain[i].Answer))
            .Concat(forget.SelectMany(r => r.PerturbedAnswers.Take(2).Select(p => Example(r.Question, p))))
            .ToList();
        return (forgetSet, retainSet);
    }
}
