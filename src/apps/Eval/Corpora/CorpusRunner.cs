using Uld.Eval.Client;
using Uld.Eval.Cli;
using Uld.Evaluation.Metrics;

namespace Uld.Eval.Corpora;

/// <summary>
/// A whole corpus run: the retain model first (when given), then every deployment; PrivLeak against the retain
/// model's AUC, fluency under the judge and its ratio to the retain model's.
/// </summary>
public static class CorpusRunner
{
    public static async Task<IReadOnlyList<CorpusDeploymentResult>> RunAsync(CorpusEvaluator evaluator, IReadOnlyList<DeploymentRef> deployments,
        DeploymentRef? retain, FluencyJudge? judge, CancellationToken ct)
    {
        var all = retain is null ? deployments : deployments.Where(d => d != retain).Prepend(retain).ToList();
        var runs = await DeploymentProgress.RunAsync(all, (d, progress) => evaluator.EvaluateAsync(d, progress, ct));
        var results = runs.Select(r => r.Result).ToList();
        // A retain model whose AUC is 0 ranks every forget passage above every holdout one: it is no reference, and
        // PrivLeak (a ratio to its AUC) stays undefined.
        if (retain is not null && results[0].MiaAuc is > 0 and var retainAuc)
            foreach (var result in results) result.PrivLeak = Membership.PrivLeak(result.MiaAuc!.Value, retainAuc);
        if (judge is null) return results;
        foreach (var (result, continuations) in runs) (result.FluencyPerplexity, result.FluencyTokens) = await judge.ScoreAsync(continuations, ct);
        if (retain is not null && results[0].FluencyPerplexity is { } reference)
            foreach (var result in results) result.FluencyRatio = result.FluencyPerplexity / reference;
        return results;
    }
}
