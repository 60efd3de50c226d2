using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Training;

namespace Uld.Trainer.Unlearning;

/// <summary>One question and the answer the assistant trains on, before tokenisation.</summary>
/// <param name="Untrained">text whose tokens carry no loss in <see cref="Answer"/> (an alternative's true answer)</param>
public sealed record QaPair(string Question, string Answer, string? Untrained = null);

/// <summary>The assistant's three training sets, tokenised (see <see cref="UldData"/>).</summary>
public sealed record UldTrainingSets(List<ChatExample> Forget, List<ChatExample> Retain, List<ChatExample> Alternatives);

/// <summary>
/// The augmented ULD training sets (docs/METHODS.md, *ULD assistant*), built only from the forget and retain records'
/// own questions and answers. TOFU's paraphrased and perturbed answers are left out on purpose: the truth ratio (and so
/// forget quality and model utility) is computed from exactly those strings, and training the assistant to remember
/// the paraphrases and to stay uniform on the perturbations would score the evaluation on training data.
/// <list type="bullet">
/// <item>D′f ("remember"): the forget QA, plus each forget question answered with another answer of the same forget
/// author (record subject) (facts of the author under other questions: what the author's paraphrases share without being them).</item>
/// <item>D′r ("know nothing"): min(400, |forget|) real retain QA, plus each forget question answered with two answers
/// of retain authors (fluent, wrong, and not evaluated: the question alone must not be enough to raise an answer).</item>
/// <item>D′a ("not these"): the same forget questions with the same retain answers, trained *below* uniform on the
/// answer tokens that are not in the true answer. l_base − α·l_assistant then raises what a model that never met the
/// author would say — another author's wording, which the base continues fluently — instead of whichever tokens the
/// assistant happened to rank lowest.</item>
/// </list>
/// </summary>
public static class UldData
{
    /// <summary>Answers of retain authors paired with each forget question in D′r.</summary>
    public const int SwappedAnswersPerForgetQuestion = 2;
    /// <summary>The cap on real retain QA in D′r (the reference keeps it near |forget|).</summary>
    public const int MaxRetainExamples = 400;

    /// <summary>
    /// The sets for any corpus pair. Question/answer corpora get the augmentation above; other kinds (raw text,
    /// prompt/completion, conversations) have no question to pair with other answers, so D′f is the forget examples,
    /// D′r min(400, |D′f|) retain examples, and there is no D′a (docs/METHODS.md, *Your own data*).
    /// </summary>
    public static UldTrainingSets Build(Corpus forget, Corpus retain, CorpusExamples examples, ModelTokenizer tokenizer, ChatTemplate template, int seed)
    {
        if (forget.Kind == CorpusKind.QuestionAnswer && retain.Kind == CorpusKind.QuestionAnswer)
            return Build([.. forget.Of<QaRecord>()], [.. retain.Of<QaRecord>()], tokenizer, template, seed);
        var forgetExamples = examples.Of(forget);
        var retainExamples = examples.Of(retain);
        if (retainExamples.Count == 0) throw new ArgumentException("the retain set is empty.");
        var order = CausalLmTrainer.Shuffle(retainExamples.Count, seed, 0);
        return new UldTrainingSets(forgetExamples, order.Take(Math.Min(MaxRetainExamples, forgetExamples.Count)).Select(i => retainExamples[i]).ToList(), []);
    }

    public static UldTrainingSets Build(IReadOnlyList<QaRecord> forget, IReadOnlyList<QaRecord> retain, ModelTokenizer tokenizer, ChatTemplate template, int seed)
    {
        var (forgetPairs, retainPairs, alternativePairs) = Pairs(forget, retain, seed);
        List<ChatExample> Tokenize(IEnumerable<QaPair> pairs) => pairs.Select(p => ChatExample.Create(tokenizer, template, p.Question, p.Answer) with
        {
            UntrainedTokens = p.Untrained is null ? null : tokenizer.Encode(" " + p.Untrained, addBos: false).Append(tokenizer.Ids.Eos).ToHashSet(),
        }).ToList();
        return new UldTrainingSets(Tokenize(forgetPairs), Tokenize(retainPairs), Tokenize(alternativePairs));
    }

    /// <summary>The question/answer strings of D′f, D′r and D′a; a pure function of the records and the seed.</summary>
    public static (List<QaPair> Forget, List<QaPair> Retain, List<QaPair> Alternatives) Pairs(IReadOnlyList<QaRecord> forget, IReadOnlyList<QaRecord> retain, int seed)
    {
        if (retain.Count == 0) throw new ArgumentException("the retain set is empty.");
        var random = new Random(seed);
        var forgetPairs = forget.Select(r => new QaPair(r.Question, r.Answer)).ToList();
        foreach (var author in forget.GroupBy(r => r.Subject ?? "").Select(g => g.ToList()).Where(g => g.Count > 1))
        {
            // A derangement by rotation: every question gets another answer of its author.
            var shift = random.Next(1, author.Count);
            forgetPairs.AddRange(author.Select((r, i) => new QaPair(r.Question, author[(i + shift) % author.Count].Answer)));
        }

        var order = CausalLmTrainer.Shuffle(retain.Count, seed, 0);
        var retainPairs = order.Take(Math.Min(MaxRetainExamples, forget.Count)).Select(i => new QaPair(retain[i].Question, retain[i].Answer)).ToList();
        var alternatives = new List<QaPair>();
        foreach (var r in forget)
            for (var k = 0; k < SwappedAnswersPerForgetQuestion; k++)
            {
                var answer = retain[random.Next(retain.Count)].Answer;
                retainPairs.Add(new QaPair(r.Question, answer));
                alternatives.Add(new QaPair(r.Question, answer, Untrained: r.Answer));
            }
        return (forgetPairs, retainPairs, alternatives);
    }
}
