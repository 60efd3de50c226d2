using Uld.Evaluation.Data;
using Uld.Evaluation.Metrics;
using Uld.Eval.Client;
using Uld.Eval.Tofu;
using Uld.Tests.Support;

namespace Uld.Tests.Eval.Tofu;

/// <summary>The TOFU evaluator against a real LogitServer on loopback (stories260K knows nothing of TOFU, which is the point).</summary>
[Collection(ServerCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class EvaluatorTests(ServerFixture fixture)
{
    private static TofuEvalSets Sets()
    {
        var data = SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"));
        var split = TofuSplitDefinition.Load(Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json"));
        return TofuEvalSets.Load(data, split, "forget1", maxQuestions: 4);
    }

    [Fact]
    public async Task Evaluates_a_deployment_through_the_api_with_consistent_metrics()
    {
        var sets = Sets();
        var client = new UldApiClient(fixture.Server.Http);
        var evaluator = new TofuEvaluator(client, sets, new TofuEvaluationOptions { MaxNewTokens = 16, Concurrency = 4 });
        var plain = await evaluator.EvaluateAsync(new DeploymentRef("stories"), null, default);
        var uld = await evaluator.EvaluateAsync(new DeploymentRef("stories-uld-lab", Alpha: 0), null, default);

        Assert.Equal(4, plain.Forget.Questions);
        Assert.Equal(4, plain.ForgetTruthRatios.Count);
        // The set metrics are what TOFU defines, recomputed here from the API's own primitives: the mean over questions
        // of exp(mean answer-token log-probability), and ROUGE-L recall of the greedy answer against the true one.
        var options = new TofuEvaluationOptions { MaxNewTokens = 16 };
        var probabilities = new List<double>();
        var rouges = new List<double>();
        foreach (var r in sets.Forget)
        {
            var question = await client.ChatPromptAsync("stories", options.Ask(r.Question), default);
            var truth = await client.ScoreAsync(new DeploymentRef("stories"), question, await client.AnswerTokensAsync("stories", r.Answer, default), default);
            probabilities.Add(Math.Exp(truth.LogProbability / truth.Tokens));
            rouges.Add(RougeL.Recall(r.Answer, await client.AnswerAsync(new DeploymentRef("stories"), options.Ask(r.Question), 16, default)));
        }
        Assert.Equal(probabilities.Average(), plain.Forget.Probability, 1e-6 * probabilities.Average());
        Assert.Equal(rouges.Average(), plain.Forget.RougeL, 1e-9);
        Assert.Equal(plain.ForgetTruthRatios.Average(), plain.Forget.TruthRatio, 1e-12);

        // α = 0 serves the base distribution, so every number matches the plain deployment's (up to the float
        // rounding of different batch compositions).
        Assert.All(plain.ForgetTruthRatios.Zip(uld.ForgetTruthRatios), p => Assert.Equal(p.First, p.Second, 1e-5 * p.First));
        Assert.Equal(plain.ModelUtility, uld.ModelUtility, 1e-5);

        // Forget quality is the KS test's p-value between the two truth-ratio samples: compared with a model that
        // answers differently (α = 2, the bound, pushes the forget answers away), the statistic is the largest gap between the
        // two empirical CDFs, recomputed here.
        var pushed = await evaluator.EvaluateAsync(new DeploymentRef("stories-uld-lab", Alpha: 2), null, default);
        TofuEvaluator.CompareWithRetain(pushed, plain);
        var gap = pushed.ForgetTruthRatios.Concat(plain.ForgetTruthRatios).Max(x =>
            Math.Abs(pushed.ForgetTruthRatios.Count(v => v <= x) / 4.0 - plain.ForgetTruthRatios.Count(v => v <= x) / 4.0));
        Assert.Equal(gap, pushed.ForgetKsStatistic!.Value, 1e-12);
        Assert.True(gap > 0, "α = 2 left every forget truth ratio where the base has it");
        Assert.InRange(pushed.ForgetQuality!.Value, 0.0, 0.999);

        // The scored log-probability is the sum of the echoed answer-token logprobs, and a longer (wrong) answer scores lower.
        var prompt = await client.ChatPromptAsync("stories", sets.Forget[0].Question, default);
        var answer = await client.AnswerTokensAsync("stories", sets.Forget[0].Answer, default);
        var score = await client.ScoreAsync(new DeploymentRef("stories"), prompt, answer, default);
        Assert.Equal(answer.Length, score.Tokens);
        Assert.True(score.LogProbability < 0);
        var doubled = await client.ScoreAsync(new DeploymentRef("stories"), prompt, [.. answer, .. answer], default);
        Assert.True(doubled.LogProbability < score.LogProbability);
    }

    [Fact]
    public async Task Fluency_scores_generated_answers_under_the_judge_deployment()
    {
        var sets = Sets();
        var evaluator = new TofuEvaluator(new UldApiClient(fixture.Server.Http), sets, new TofuEvaluationOptions { MaxNewTokens = 24, Concurrency = 4 });
        var judge = new DeploymentRef("stories");
        var result = await evaluator.EvaluateAsync(judge, null, default);
        Assert.Equal(sets.Forget.Count, result.ForgetAnswers.Count);
        Assert.Equal(Math.Min(5, sets.Forget.Count), result.ForgetExamples.Count);

        await evaluator.ScoreFluencyAsync(result, judge, default);
        var own = result.FluencyNll!.Value;
        // The judge's own greedy answers are its likeliest text; the same words in reverse order are not language to it.
        var questions = sets.Forget.Select(r => r.Question).ToList();
        var reversed = result.ForgetAnswers.Select(a => string.Join(' ', a.Split(' ').Reverse())).ToList();
        var scrambled = (await evaluator.MeanNllAsync(judge, questions, reversed, default))!.Value;
        Assert.InRange(own, 0.01, 3.0);
        Assert.True(scrambled > own + 1.0, $"reversed answers {scrambled:F2} vs greedy {own:F2} nats/token");
        Assert.Null(await evaluator.MeanNllAsync(judge, questions, questions.Select(_ => "").ToList(), default));

        var run = new EvaluationRun { ForgetSet = "forget1", Split = "tofu-mini", RetainDeployment = "stories", Results = [result] };
        Assert.Equal(1.0, run.FluencyRatio(result));
        Assert.Contains("## Greedy forget answers", Uld.Eval.Reports.RunMarkdown.Write(run));
    }

    [Fact]
    public async Task Refusals_from_the_server_become_clear_errors()
    {
        var client = new UldApiClient(fixture.Server.Http);
        var e = await Assert.ThrowsAsync<EvaluationException>(() => client.AnswerAsync(new DeploymentRef("no-such-model"), "Who?", 4, default));
        Assert.Contains("404", e.Message);
        var policy = await Assert.ThrowsAsync<EvaluationException>(() => client.AnswerAsync(new DeploymentRef("stories-uld", Alpha: 9), "Who?", 4, default));
        Assert.Contains("uld_alpha", policy.Message);
    }

    [Fact]
    public void Deployment_references_parse_alpha_and_relative_top()
    {
        Assert.Equal(new DeploymentRef("uld", 0.5), DeploymentRef.Parse("uld@0.5"));
        Assert.Equal(new DeploymentRef("uld", 1, 0.1), DeploymentRef.Parse("uld@1@0.1"));
        Assert.Equal("uld@0.5#u1", new DeploymentRef("uld", 0.5, User: "u1").ToString());
        Assert.Throws<Uld.Contracts.UserErrorException>(() => DeploymentRef.Parse("uld@x"));
    }
}
