using Uld.Eval.Client;
using Uld.Evaluation.Metrics;

namespace Uld.Eval.Corpora;

/// <summary>
/// Fluency of generated continuations: their perplexity under a judge deployment that never saw the corpus. Each
/// continuation is re-read by the judge in its own tokens after the same context and prefix text; the tokens scored
/// are those where the judge's encoding of prefix + continuation departs from its encoding of the prefix alone.
/// </summary>
public sealed class FluencyJudge(UldApiClient client, DeploymentRef judge, int concurrency)
{
    private readonly PassageTokenizer _tokenizer = new(client);

    /// <summary>exp(Σ −log p / Σ tokens) over every non-empty continuation, and the number of tokens; null perplexity when there is none.</summary>
    public async Task<(double? Perplexity, int Tokens)> ScoreAsync(IReadOnlyList<ForgetContinuation> continuations, CancellationToken ct)
    {
        var written = continuations.Where(c => !string.IsNullOrWhiteSpace(c.Text)).ToList();
        var logprobs = await ConcurrentRequests.MapAsync(written, concurrency, c => LogprobsAsync(c, ct), null, ct);
        return (TokenLogprobs.Perplexity(logprobs), logprobs.Sum(l => l.Length));
    }

    private async Task<double[]> LogprobsAsync(ForgetContinuation c, CancellationToken ct)
    {
        var with = await _tokenizer.TokensAsync(judge.Model, c.Source with { Text = c.Prefix + c.Text }, ct);
        var without = await _tokenizer.TokensAsync(judge.Model, c.Source with { Text = c.Prefix }, ct);
        int[] whole = [.. with.Context, .. with.Body];
        var split = PassageTokenizer.CommonPrefix(whole, [.. without.Context, .. without.Body]);
        // What does not fit the judge's context is not scored.
        var scored = whole[split..Math.Max(split, Math.Min(whole.Length, with.ContextLength))];
        return scored.Length == 0 ? [] : await client.AnswerLogprobsAsync(judge, whole[..split], scored, ct);
    }
}
