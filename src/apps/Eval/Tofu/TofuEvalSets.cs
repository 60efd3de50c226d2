using Uld.Contracts;
using Uld.Evaluation.Data;

namespace Uld.Eval.Tofu;

/// <summary>
/// The question sets TOFU evaluates on, for one forget set of a split: forget (the forget authors), retain (retain
/// authors that have paraphrased and perturbed answers — TOFU's retain_perturbed), real authors, world facts, and a
/// holdout of authors no model of the split was trained on (the non-members of the membership-inference probe).
/// </summary>
public sealed record TofuEvalSets(
    IReadOnlyList<TofuRecord> Forget,
    IReadOnlyList<TofuRecord> Retain,
    IReadOnlyList<TofuRecord> RealAuthors,
    IReadOnlyList<TofuRecord> WorldFacts,
    IReadOnlyList<TofuRecord> Holdout)
{
    public static TofuEvalSets Load(string dataDirectory, TofuSplitDefinition split, string forgetSet, int maxQuestions)
    {
        var tofu = TofuDataset.Load(dataDirectory, split.QuestionsPerAuthor);
        var (forget, _) = tofu.Split(split, forgetSet);
        if (forget.Any(r => r.ParaphrasedAnswer is null || r.PerturbedAnswers.Count == 0))
            throw new UserErrorException($"{forgetSet} has questions without paraphrased/perturbed answers; truth ratios need them (take forget authors from the end of TOFU).");
        var retainScored = tofu.ScoredRetain(split, forgetSet);
        if (retainScored.Count == 0) throw new UserErrorException($"{split.Name} has no retain authors with perturbed answers (TOFU's first 20 authors).");
        var forgetAuthors = forget.Select(r => r.Author).Distinct().Count();
        var unseen = Enumerable.Range(0, tofu.AuthorCount).Except(split.Authors).Take(forgetAuthors).ToList();
        return new TofuEvalSets(
            forget.Take(maxQuestions).ToList(),
            retainScored.Take(maxQuestions).ToList(),
            TofuDataset.LoadOptions(dataDirectory, "real_authors_perturbed.json").Take(maxQuestions).ToList(),
            TofuDataset.LoadOptions(dataDirectory, "world_facts_perturbed.json").Take(maxQuestions).ToList(),
            tofu.Authors(unseen).Take(maxQuestions).ToList());
    }
}
