using System.Text.Json.Nodes;
using Uld.Evaluation.Data;
using Uld.Tests.Support;
using Uld.Trainer.Unlearning;

namespace Uld.Tests.Training;

/// <summary>
/// The ULD assistant's training sets hold no string the evaluation scores: the paraphrased answers, perturbed answers
/// and paraphrased questions of TOFU's *_perturbed files (read raw here, not through the loader the trainer uses).
/// </summary>
public sealed class UldDataTests
{
    private static string TofuDirectory => SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"));

    [Theory]
    [InlineData("forget1")]
    [InlineData("forget2")]
    [InlineData("forget4")]
    public void Training_sets_contain_no_evaluated_string(string forgetSet)
    {
        var tofu = TofuDataset.Load(TofuDirectory);
        var (forget, retain) = tofu.Split(TofuSplitDefinition.Load(Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json")), forgetSet);
        var (forgetPairs, retainPairs, alternativePairs) = UldData.Pairs(forget, retain, seed: 1234);

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
