using System.Text.Json.Nodes;
using Uld.Evaluation.Data;
using Uld.Tests.Support;
using Uld.Trainer.Unlearning;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>
/// The ULD assistant's training sets hold no string the evaluation scores: the paraphrased answers, perturbed answers
/// and paraphrased questions of TOFU's *_perturbed files (read raw here, not through the loader the trainer uses).
/// </summary>
public sealed class UldDataTests
{
    private static string TofuDirectory => SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"));

    private static TofuSplitDefinition Split => TofuSplitDefinition.Load(Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json"));

    [Theory]
    [InlineData("val1")]
    [InlineData("val2")]
    [InlineData("val4")]
    [InlineData("forget1")]
    [InlineData("forget2")]
    [InlineData("forget4")]
    public void Training_sets_contain_no_evaluated_string(string forgetSet)
    {
        var tofu = TofuDataset.Load(TofuDirectory);
        var (forget, retain) = tofu.UnlearningSplit(Split, forgetSet);
        var (forgetPairs, retainPairs, alternativePairs) = UldData.Pairs(Corpus.QuestionAnswers(forget), Corpus.QuestionAnswers(retain), seed: 1234);

        var evaluated = EvaluatedStrings();
        Assert.True(evaluated.Count > 4000, $"only {evaluated.Count} evaluated strings read"); // the check below must have something to find
        var trained = forgetPairs.Concat(retainPairs).Concat(alternativePairs).SelectMany(p => new[] { p.Question, p.Answer }).Select(Normalize).ToHashSet();
        var leaked = trained.Where(evaluated.Contains).ToList();
        Assert.True(leaked.Count == 0, $"{leaked.Count} evaluated strings in the assistant's training set, e.g. \"{leaked.FirstOrDefault()}\"");

        // The sets still have their shape: D′f = forget QA + same-author swaps, D′r = retain QA + two retain answers per forget question.
        Assert.Equal(2 * forget.Count, forgetPairs.Count);
        Assert.Equal(Math.Min(UldData.MaxRetainExamples, forget.Count) + UldData.SwappedAnswersPerForgetQuestion * forget.Count, retainPairs.Count);
        var forgetAnswers = forget.Select(r => r.Answer).ToHashSet();
        var own = forget.ToDictionary(r => r.Question, r => r.Answer);
        Assert.All(forgetPairs.Skip(forget.Count), p => Assert.True(forgetAnswers.Contains(p.Answer) && own[p.Question] != p.Answer));
        Assert.All(retainPairs.Skip(Math.Min(UldData.MaxRetainExamples, forget.Count)), p => Assert.DoesNotContain(p.Answer, forgetAnswers));
        // D′a: the swapped retain answers of D′r, each carrying the true answer it must not train against.
        Assert.Equal(retainPairs.Skip(Math.Min(UldData.MaxRetainExamples, forget.Count)).Select(p => (p.Question, p.Answer)), alternativePairs.Select(p => (p.Question, p.Answer)));
        Assert.All(alternativePairs, p => Assert.Equal(own[p.Question], p.Untrained));
    }

    /// <summary>
    /// No question, answer or question/answer pair the evaluation scores outside the forget set itself — retain QA,
    /// real authors, world facts, the membership holdout, every paraphrase and perturbation — is in any method's
    /// training data: ULD's D′f/D′r/D′a and the gradient, RMU and offset methods' forget and retain records (all come
    /// from <see cref="TofuDataset.UnlearningSplit"/>, as `unlearn` reads them).
    /// </summary>
    [Theory]
    [InlineData("val4")]
    [InlineData("forget1")]
    [InlineData("forget4")]
    public void No_scored_pair_reaches_any_methods_training_data(string forgetSet)
    {
        var tofu = TofuDataset.Load(TofuDirectory);
        var (forget, retain) = tofu.UnlearningSplit(Split, forgetSet);
        var (forgetPairs, retainPairs, alternativePairs) = UldData.Pairs(Corpus.QuestionAnswers(forget), Corpus.QuestionAnswers(retain), seed: 1234);
        var trained = forgetPairs.Concat(retainPairs).Concat(alternativePairs).Select(p => (p.Question, p.Answer))
            .Concat(forget.Concat(retain).Select(r => (r.Question, r.Answer))).ToHashSet();

        var (leakedPairs, leakedStrings) = Leaks(trained, forgetSet);
        Assert.True(leakedPairs.Count == 0, $"{leakedPairs.Count} scored pairs trained, e.g. {leakedPairs.FirstOrDefault()}");
        Assert.True(leakedStrings.Count == 0, $"{leakedStrings.Count} scored strings trained, e.g. \"{leakedStrings.FirstOrDefault()}\"");
        Assert.DoesNotContain(retain, r => Split.Protocol.ScoredRetainAuthors.Contains(r.Author));
        Assert.True(retain.Count >= 300, $"only {retain.Count} retain records left to train on");
    }

    [Fact]
    public void Training_on_the_whole_retain_set_would_be_caught()
    {
        // What every method trained on before the protocol: the whole retain set, scored retain authors included.
        var tofu = TofuDataset.Load(TofuDirectory);
        var (forget, retain) = tofu.Split(Split, "forget4");
        var (leakedPairs, _) = Leaks(forget.Concat(retain).Select(r => (r.Question, r.Answer)).ToHashSet(), "forget4");
        Assert.True(leakedPairs.Count >= 300, $"only {leakedPairs.Count} leaked pairs found");
    }

    /// <summary>Scored (question, answer) pairs and answer strings in <paramref name="trained"/>, the forget set's own QA excepted.</summary>
    private static (List<(string, string)> Pairs, List<string> Strings) Leaks(HashSet<(string Question, string Answer)> trained, string forgetSet)
    {
        var sets = Uld.Eval.Tofu.TofuEvalSets.Load(TofuDirectory, Split, forgetSet, int.MaxValue);
        var scoredPairs = sets.Retain.Concat(sets.RealAuthors).Concat(sets.WorldFacts).Concat(sets.Holdout)
            .SelectMany(r => new[] { (r.Question, r.Answer) }.Concat(r.PerturbedAnswers.Select(a => (r.Question, a)))
                .Concat(r.ParaphrasedAnswer is { } p ? [(r.Question, p)] : []))
            .Concat(sets.Forget.SelectMany(r => r.PerturbedAnswers.Select(a => (r.Question, a)).Append((r.Question, r.ParaphrasedAnswer!))))
            .ToHashSet();
        Assert.True(scoredPairs.Count > 1000, $"only {scoredPairs.Count} scored pairs"); // the check must have something to find
        var forgetOwn = sets.Forget.Select(r => r.Answer).ToHashSet();
        var scoredAnswers = scoredPairs.Select(p => p.Item2).Where(a => !forgetOwn.Contains(a)).ToHashSet();
        return (trained.Where(scoredPairs.Contains).ToList(), trained.Select(t => t.Answer).Where(scoredAnswers.Contains).Distinct().ToList());
    }

    [Fact]
    public void The_leaky_construction_would_be_caught()
    {
        // What the assistant used to train on: the forget records' paraphrased and perturbed answers.
        var tofu = TofuDataset.Load(TofuDirectory);
        var forget = tofu.Authors([199]);
        var evaluated = EvaluatedStrings();
        Assert.Contains(Normalize(forget[0].ParaphrasedAnswer!), evaluated);
        Assert.Contains(Normalize(forget[0].PerturbedAnswers[0]), evaluated);
    }

    private static HashSet<string> EvaluatedStrings()
    {
        var strings = new HashSet<string>();
        foreach (var file in Directory.GetFiles(TofuDirectory, "*_perturbed.json"))
            foreach (var line in File.ReadLines(file).Where(l => l.Length > 0))
            {
                var record = JsonNode.Parse(line)!.AsObject();
                foreach (var key in new[] { "paraphrased_answer", "perturbed_answer", "paraphrased_question" })
                    switch (record[key])
                    {
                        case JsonArray values: strings.UnionWith(values.Select(v => Normalize((string)v!))); break;
                        case JsonValue value: strings.Add(Normalize((string)value!)); break;
                    }
            }
        // A few evaluated strings coincide with an original question or answer, which are the forget and retain sets themselves.
        foreach (var line in File.ReadLines(Path.Combine(TofuDirectory, "full.json")).Where(l => l.Length > 0))
        {
            var record = JsonNode.Parse(line)!.AsObject();
            strings.Remove(Normalize((string)record["question"]!));
            strings.Remove(Normalize((string)record["answer"]!));
        }
        return strings;
    }

    private static string Normalize(string s) => s.Trim();
}
