using System.Collections.Concurrent;
using System.Diagnostics;
using Uld.Contracts;
using Uld.Eval.Client;
using Uld.Evaluation.Data;
using Uld.Evaluation.Metrics;

namespace Uld.Eval.Corpora;

/// <summary>Settings of a corpus evaluation run (docs/METHODS.md, *Your own data*).</summary>
public sealed record CorpusEvaluationOptions
{
    /// <summary>k: passage tokens given as the prompt.</summary>
    public int PrefixTokens { get; init; } = 32;
    /// <summary>Tokens generated after them, and true tokens they are compared with.</summary>
    public int ContinuationTokens { get; init; } = 64;
    /// <summary>Greedy answer length cap for KnowMem.</summary>
    public int MaxAnswerTokens { get; init; } = 200;
    public int Concurrency { get; init; } = 16;
    public double MinKFraction { get; init; } = Membership.DefaultMinKFraction;
    /// <summary>Forget continuations kept per deployment for the report.</summary>
    public int Examples { get; init; } = 3;
}

/// <summary>The user's corpora as passages, read once and shared by every deployment's evaluation.</summary>
public sealed record CorpusSets(Corpus Forget, Corpus Retain, Corpus? Holdout)
{
    public IReadOnlyList<PassageSource> ForgetPassages { get; } = PassageSource.AllOf(Forget);
    public IReadOnlyList<PassageSource> RetainPassages { get; } = PassageSource.AllOf(Retain);
    public IReadOnlyList<PassageSource> HoldoutPassages { get; } = Holdout is null ? [] : PassageSource.AllOf(Holdout);
}

/// <summary>A deployment's continuation of a forget passage's first k tokens, with the text of those tokens (what the judge reads).</summary>
public sealed record ForgetContinuation(PassageSource Source, string Prefix, string Text);

/// <summary>
/// MUSE-style memorisation of a user's corpora by one deployment, measured only through the API: VerbMem on forget and
/// retain passages, KnowMem on question/answer corpora, the min-k% membership AUC of forget vs holdout. PrivLeak and
/// fluency need the retain model and the judge (<see cref="CorpusRunner"/>).
/// </summary>
public sealed class CorpusEvaluator(UldApiClient client, CorpusSets sets, CorpusEvaluationOptions options)
{
    private readonly PassageTokenizer _tokenizer = new(client);
    private readonly ConcurrentDictionary<(string, PassageSource), Task<PassageTokens>> _tokens = new();

    /// <param name="progress">(done, total) passages and questions.</param>
    public async Task<(CorpusDeploymentResult Result, IReadOnlyList<ForgetContinuation> Continuations)> EvaluateAsync(
        DeploymentRef d, Action<int, int>? progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var total = sets.ForgetPassages.Count * 2 + sets.RetainPassages.Count + Questions(sets.Forget).Count + Questions(sets.Retain).Count + sets.HoldoutPassages.Count;
        var done = 0;
        void Tick() => progress?.Invoke(Interlocked.Increment(ref done), total);

        var forget = Present(await MapAsync(sets.ForgetPassages, s => VerbMemAsync(d, s, ct), Tick, ct), sets.Forget);
        var retain = Present(await MapAsync(sets.RetainPassages, s => VerbMemAsync(d, s, ct), Tick, ct), sets.Retain);
        double? auc = null;
        if (sets.Holdout is not null)
        {
            var members = await MapAsync(sets.ForgetPassages, s => MinKAsync(d, s, ct), Tick, ct);
            var nonMembers = await MapAsync(sets.HoldoutPassages, s => MinKAsync(d, s, ct), Tick, ct);
            auc = Membership.Auc(nonMembers.OfType<double>().ToList(), members.OfType<double>().ToList());
        }
        var result = new CorpusDeploymentResult
        {
            Deployment = d.ToString(), Model = d.Model, Alpha = d.Alpha, RelativeTop = d.RelativeTop,
            Forget = Metrics(forget, sets.ForgetPassages.Count, await KnowMemAsync(d, sets.Forget, Tick, ct)),
            Retain = Metrics(retain, sets.RetainPassages.Count, await KnowMemAsync(d, sets.Retain, Tick, ct)),
            MiaAuc = auc,
            ContinuationTokensMean = forget.Average(x => x.Continuation.Tokens),
            EmptyContinuations = forget.Count(x => x.Continuation.Tokens == 0 || string.IsNullOrWhiteSpace(x.Continuation.Text)),
            ForgetExamples = forget.Take(options.Examples).Select(x => new ExampleContinuation(x.Source.Line, x.Prefix, x.Truth, x.Continuation.Text, x.RougeL)).ToList(),
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        return (result, forget.Select(x => new ForgetContinuation(x.Source, x.Prefix, x.Continuation.Text)).ToList());
    }

    /// <summary>The passage's tokens in the deployment's model, tokenised once per model.</summary>
    private Task<PassageTokens> TokensAsync(string model, PassageSource source, CancellationToken ct) =>
        _tokens.GetOrAdd((model, source), _ => _tokenizer.TokensAsync(model, source, ct));

    private sealed record Scored(PassageSource Source, string Prefix, string Truth, Continuation Continuation, double RougeL);

    /// <summary>
    /// VerbMem of one passage: greedy continuation of its first k tokens (after its context), stemmed ROUGE-L recall
    /// against the text of its next tokens. Null when the passage has no token after the k, or prompt + continuation
    /// would not fit the model's context.
    /// </summary>
    private async Task<Scored?> VerbMemAsync(DeploymentRef d, PassageSource s, CancellationToken ct)
    {
        var (k, n) = (options.PrefixTokens, options.ContinuationTokens);
        var t = await TokensAsync(d.Model, s, ct);
        if (t.Body.Length <= k || t.Context.Length + k + n > t.ContextLength) return null;
        var continuation = await client.ContinuationAsync(d, [.. t.Context, .. t.Body[..k]], n, ct);
        var truth = await client.DetokenizeAsync(d.Model, t.Body[k..Math.Min(t.Body.Length, k + n)], ct);
        var prefix = await _tokenizer.PrefixTextAsync(d.Model, s, t, k, ct);
        return new Scored(s, prefix, truth, continuation, RougeL.Recall(truth, continuation.Text));
    }

    /// <summary>Min-k% score of the whole passage given its context (as much as fits the model's context); null if nothing fits.</summary>
    private async Task<double?> MinKAsync(DeploymentRef d, PassageSource s, CancellationToken ct)
    {
        var t = await TokensAsync(d.Model, s, ct);
        var room = Math.Min(t.Body.Length, t.ContextLength - t.Context.Length);
        if (room < 1) return null;
        return Membership.MinK(await client.AnswerLogprobsAsync(d, t.Context, t.Body[..room], ct), options.MinKFraction);
    }

    /// <summary>KnowMem: stemmed ROUGE-L recall of the greedy chat answer to each question; null for corpora without questions.</summary>
    private async Task<double?> KnowMemAsync(DeploymentRef d, Corpus corpus, Action tick, CancellationToken ct)
    {
        var questions = Questions(corpus);
        if (questions.Count == 0) return null;
        var scores = await MapAsync(questions, async q => RougeL.Recall(q.Answer, await client.AnswerAsync(d, q.Question, options.MaxAnswerTokens, ct)), tick, ct);
        return scores.Average();
    }

    private static IReadOnlyList<QaRecord> Questions(Corpus corpus) => corpus.Of<QaRecord>().ToList();

    private List<Scored> Present(Scored?[] rows, Corpus corpus)
    {
        var scored = rows.OfType<Scored>().ToList();
        if (scored.Count == 0)
            throw new UserErrorException($"{corpus.Name}: none of its {rows.Length} records has more than --prefix-tokens {options.PrefixTokens} tokens "
                + $"with room for --continuation-tokens {options.ContinuationTokens} in the model's context; lower them or give longer passages.");
        return scored;
    }

    private static CorpusSetMetrics Metrics(List<Scored> scored, int records, double? knowMem) =>
        new() { Passages = scored.Count, Skipped = records - scored.Count, VerbMem = scored.Average(x => x.RougeL), KnowMem = knowMem };

    private Task<TOut[]> MapAsync<TIn, TOut>(IReadOnlyList<TIn> items, Func<TIn, Task<TOut>> body, Action tick, CancellationToken ct) =>
        ConcurrentRequests.MapAsync(items, options.Concurrency, body, tick, ct);
}
