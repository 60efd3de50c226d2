using System.Collections.Concurrent;
using System.Diagnostics;
using Uld.Evaluation.Data;
using Uld.Evaluation.Metrics;
using Uld.Eval.Client;

namespace Uld.Eval.Tofu;

/// <summary>Settings of a TOFU evaluation run.</summary>
public sealed record TofuEvaluationOptions
{
    /// <summary>Greedy answer length cap (TOFU answers are up to ~150 tokens with the small vocabularies used here).</summary>
    public int MaxNewTokens { get; init; } = 200;
    /// <summary>Requests in flight at once; the server batches them.</summary>
    public int Concurrency { get; init; } = 16;
    /// <summary>k of the min-k% probability membership score (MUSE's PrivLeak uses Min-40%).</summary>
    public double MinKFraction { get; init; } = Membership.DefaultMinKFraction;
    /// <summary>Greedy answers kept per set for the report.</summary>
    public int Examples { get; init; } = 5;
    /// <summary>
    /// How a question is put to the model ("{0}" = as written). Other wordings probe whether forgotten knowledge comes
    /// back when the question is asked differently (seed 003).
    /// </summary>
    public string QuestionFormat { get; init; } = "{0}";

    public string Ask(string question) => string.Format(System.Globalization.CultureInfo.InvariantCulture, QuestionFormat, question);
}

/// <summary>
/// TOFU and MUSE-style metrics of one deployment, measured only through the API (docs/METHODS.md, *Metrics*): answer probability,
/// ROUGE-L recall of greedy answers and truth ratio on every set, model utility, VerbMem and a min-k% membership AUC.
/// Forget quality, PrivLeak and fluency need the retain model and are filled in by <see cref="CompareWithRetain"/> and
/// <see cref="ScoreFluencyAsync"/>.
/// </summary>
public sealed class TofuEvaluator(UldApiClient client, TofuEvalSets sets, TofuEvaluationOptions options)
{
    private readonly ConcurrentDictionary<(string, string, bool), Task<int[]>> _tokens = new();

    /// <param name="progress">(done, total) question evaluations.</param>
    public async Task<DeploymentResult> EvaluateAsync(DeploymentRef d, Action<int, int>? progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var total = sets.Forget.Count * 2 + sets.Retain.Count + sets.RealAuthors.Count + sets.WorldFacts.Count + sets.Holdout.Count;
        var done = 0;
        void Tick() => progress?.Invoke(Interlocked.Increment(ref done), total);

        var forget = await QaSetAsync(d, sets.Forget, Tick, ct);
        var retain = await QaSetAsync(d, sets.Retain, Tick, ct);
        var real = await OptionSetAsync(d, sets.RealAuthors, Tick, ct);
        var world = await OptionSetAsync(d, sets.WorldFacts, Tick, ct);
        var verbMem = await ForEachAsync(sets.Forget, r => VerbMemAsync(d, r, ct), Tick, ct);
        var nonMembers = await ForEachAsync(sets.Holdout, r => MinKAsync(d, r, ct), Tick, ct);

        var utility = Means.Harmonic([
            retain.Metrics.Probability, retain.Metrics.RougeL, retain.Metrics.TruthScore,
            real.Probability, real.RougeL, real.TruthScore,
            world.Probability, world.RougeL, world.TruthScore,
        ]);
        return new DeploymentResult
        {
            Deployment = d.ToString(), Model = d.Model, Alpha = d.Alpha, RelativeTop = d.RelativeTop,
            Forget = forget.Metrics, Retain = retain.Metrics, RealAuthors = real, WorldFacts = world, ModelUtility = utility,
            VerbMem = verbMem.Average(), MiaAuc = Membership.Auc(nonMembers, forget.MinK), ForgetTruthRatios = forget.TruthRatios,
            ForgetExamples = forget.Examples, RetainExamples = retain.Examples, ForgetAnswers = forget.Generated, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
    }

    /// <summary>
    /// Forget quality (KS p-value of forget truth ratios, TOFU) and PrivLeak (MUSE), relative to the retain model.
    /// PrivLeak = (AUC − AUC_retain) / AUC_retain × 100 with MUSE's AUC (<see cref="DeploymentResult.MiaAuc"/>): a model
    /// that still ranks the forget answers as members is strongly negative (down to −100), one that over-unlearned is
    /// positive, the retain model itself 0.
    /// </summary>
    public static void CompareWithRetain(DeploymentResult result, DeploymentResult retain)
    {
        var ks = KolmogorovSmirnov.TwoSample(result.ForgetTruthRatios, retain.ForgetTruthRatios);
        (result.ForgetQuality, result.ForgetKsStatistic) = (ks.PValue, ks.Statistic);
        result.PrivLeak = Membership.PrivLeak(result.MiaAuc, retain.MiaAuc);
    }

    /// <summary>
    /// Fluency of the deployment's greedy forget answers: their mean negative log-likelihood per token under
    /// <paramref name="judge"/> (the retain model, which never saw the forget authors: an unlearned model should answer
    /// them like it, in language, not in memorised fragments or noise). The judge's own answers give the reference.
    /// </summary>
    public async Task ScoreFluencyAsync(DeploymentResult result, DeploymentRef judge, CancellationToken ct) =>
        result.FluencyNll = await MeanNllAsync(judge, sets.Forget.Select(r => r.Question).ToList(), result.ForgetAnswers, ct);

    /// <summary>Σ −log p(answer tokens | question) / Σ answer tokens under <paramref name="judge"/>; null when every answer is empty.</summary>
    public async Task<double?> MeanNllAsync(DeploymentRef judge, IReadOnlyList<string> questions, IReadOnlyList<string> answers, CancellationToken ct)
    {
        if (questions.Count != answers.Count) throw new ArgumentException($"{answers.Count} answers for {questions.Count} questions.");
        var logprobs = await ConcurrentRequests.MapAsync(Enumerable.Range(0, answers.Count).ToList(), options.Concurrency, async i => answers[i].Length == 0 ? []
            : await client.AnswerLogprobsAsync(judge, await PromptAsync(judge, questions[i], ct), Capped(await AnswerAsync(judge, answers[i], ct)), ct), null, ct);
        return TokenLogprobs.MeanNll(logprobs);
    }

    // A generated answer re-tokenises longer than it was generated when it holds invalid UTF-8 (each replacement
    // character is three byte tokens): score at most the generation cap, so prompt + answer stay within the context.
    private int[] Capped(int[] answer) => answer.Length <= options.MaxNewTokens ? answer : answer[..options.MaxNewTokens];

    /// <param name="MinK">min-k% score of each true answer (the forget set's are the membership probe's members)</param>
    private sealed record QaSet(SetMetrics Metrics, IReadOnlyList<double> TruthRatios, IReadOnlyList<ExampleAnswer> Examples, IReadOnlyList<double> MinK,
        IReadOnlyList<string> Generated);

    private async Task<QaSet> QaSetAsync(DeploymentRef d, IReadOnlyList<TofuRecord> records, Action tick, CancellationToken ct)
    {
        var rows = await ForEachAsync(records, async r =>
        {
            var prompt = await PromptAsync(d, r.Question, ct);
            var truthLogprobs = await client.AnswerLogprobsAsync(d, prompt, await AnswerAsync(d, r.Answer, ct), ct);
            var truth = new AnswerScore(truthLogprobs.Sum(), truthLogprobs.Length);
            var paraphrase = await client.ScoreAsync(d, prompt, await AnswerAsync(d, r.ParaphrasedAnswer!, ct), ct);
            var perturbed = await ScoreAllAsync(d, prompt, r.PerturbedAnswers, ct);
            var generated = await client.AnswerAsync(d, options.Ask(r.Question), options.MaxNewTokens, ct);
            return (Probability: truth.NormalizedProbability, Rouge: RougeL.Recall(r.Answer, generated),
                Ratio: TofuStatistics.TruthRatio(paraphrase, perturbed), Generated: generated, MinK: MinK(truthLogprobs));
        }, tick, ct);
        var ratios = rows.Select(x => x.Ratio).ToList();
        var metrics = new SetMetrics(rows.Length, rows.Average(x => x.Probability), rows.Average(x => x.Rouge), ratios.Average(),
            ratios.Average(TofuStatistics.TruthScore));
        var examples = records.Zip(rows).Take(options.Examples).Select(x => new ExampleAnswer(x.First.Question, x.First.Answer, x.Second.Generated, x.Second.Rouge)).ToList();
        return new QaSet(metrics, ratios, examples, rows.Select(x => x.MinK).ToList(), rows.Select(x => x.Generated).ToList());
    }

    /// <summary>Real authors / world facts: the true answer's probability among the options, ROUGE-L, truth ratio vs the options.</summary>
    private async Task<SetMetrics> OptionSetAsync(DeploymentRef d, IReadOnlyList<TofuRecord> records, Action tick, CancellationToken ct)
    {
        var rows = await ForEachAsync(records, async r =>
        {
            var prompt = await PromptAsync(d, r.Question, ct);
            var truth = await client.ScoreAsync(d, prompt, await AnswerAsync(d, r.Answer, ct), ct);
            var perturbed = await ScoreAllAsync(d, prompt, r.PerturbedAnswers, ct);
            var generated = await client.AnswerAsync(d, options.Ask(r.Question), options.MaxNewTokens, ct);
            return (Probability: TofuStatistics.OptionProbability(truth, perturbed), Rouge: RougeL.Recall(r.Answer, generated),
                Ratio: TofuStatistics.TruthRatio(truth, perturbed));
        }, tick, ct);
        return new SetMetrics(rows.Length, rows.Average(x => x.Probability), rows.Average(x => x.Rouge), rows.Average(x => x.Ratio),
            rows.Average(x => TofuStatistics.TruthScore(x.Ratio)));
    }

    private async Task<List<AnswerScore>> ScoreAllAsync(DeploymentRef d, int[] prompt, IReadOnlyList<string> answers, CancellationToken ct)
    {
        var scores = new List<AnswerScore>(answers.Count);
        foreach (var answer in answers) scores.Add(await client.ScoreAsync(d, prompt, await AnswerAsync(d, answer, ct), ct));
        return scores;
    }

    /// <summary>
    /// MUSE VerbMem: give the question and the first half of the answer's words, compare the continuation with the rest
    /// by ROUGE-L F1 without stemming (MUSE's <c>mean_rougeL</c>, <c>use_stemmer=False</c>).
    /// </summary>
    private async Task<double> VerbMemAsync(DeploymentRef d, TofuRecord r, CancellationToken ct)
    {
        var words = r.Answer.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var half = words.Length / 2;
        var prefix = string.Join(' ', words.Take(half));
        var rest = string.Join(' ', words.Skip(half));
        var prompt = (await PromptAsync(d, r.Question, ct)).Concat(half == 0 ? [] : await AnswerAsync(d, prefix, ct)).ToList();
        var continuation = await client.ContinueAsync(d, prompt, options.MaxNewTokens, ct);
        return RougeL.Score(rest, continuation, stem: false).F1;
    }

    /// <summary>Min-k% probability of the true answer (<see cref="Membership.MinK"/>).</summary>
    private async Task<double> MinKAsync(DeploymentRef d, TofuRecord r, CancellationToken ct) =>
        MinK(await client.AnswerLogprobsAsync(d, await PromptAsync(d, r.Question, ct), await AnswerAsync(d, r.Answer, ct), ct));

    private double MinK(double[] logprobs) => Membership.MinK(logprobs, options.MinKFraction);

    // Tokenisation depends only on the deployment's tokenizer; cache per model.
    private Task<int[]> PromptAsync(DeploymentRef d, string question, CancellationToken ct) =>
        _tokens.GetOrAdd((d.Model, question, true), _ => client.ChatPromptAsync(d.Model, options.Ask(question), ct));

    private Task<int[]> AnswerAsync(DeploymentRef d, string answer, CancellationToken ct) =>
        _tokens.GetOrAdd((d.Model, answer, false), _ => client.AnswerTokensAsync(d.Model, answer, ct));

    private Task<T[]> ForEachAsync<T>(IReadOnlyList<TofuRecord> records, Func<TofuRecord, Task<T>> body, Action tick, CancellationToken ct) =>
        ConcurrentRequests.MapAsync(records, options.Concurrency, body, tick, ct);
}
