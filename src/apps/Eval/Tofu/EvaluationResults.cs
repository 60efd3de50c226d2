using Uld.Contracts;
using System.Text.Json.Serialization;

namespace Uld.Eval.Tofu;

/// <summary>Means over one question set.</summary>
public sealed record SetMetrics(
    [property: JsonPropertyName("questions")] int Questions,
    [property: JsonPropertyName("probability")] double Probability,
    [property: JsonPropertyName("rouge_l_recall")] double RougeL,
    [property: JsonPropertyName("truth_ratio")] double TruthRatio,
    [property: JsonPropertyName("truth_score")] double TruthScore);

public sealed record ExampleAnswer(
    [property: JsonPropertyName("question")] string Question,
    [property: JsonPropertyName("reference")] string Reference,
    [property: JsonPropertyName("generated")] string Generated,
    [property: JsonPropertyName("rouge_l_recall")] double RougeL);

/// <summary>Everything measured for one deployment (at one α) on one forget set.</summary>
public sealed record DeploymentResult
{
    [JsonPropertyName("deployment")] public required string Deployment { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("alpha")] public double? Alpha { get; init; }
    [JsonPropertyName("relative_top")] public double? RelativeTop { get; init; }
    [JsonPropertyName("forget")] public required SetMetrics Forget { get; init; }
    [JsonPropertyName("retain")] public required SetMetrics Retain { get; init; }
    [JsonPropertyName("real_authors")] public required SetMetrics RealAuthors { get; init; }
    [JsonPropertyName("world_facts")] public required SetMetrics WorldFacts { get; init; }
    /// <summary>Harmonic mean of {retain, real authors, world facts} × {probability, ROUGE-L, truth score}.</summary>
    [JsonPropertyName("model_utility")] public required double ModelUtility { get; init; }
    /// <summary>KS-test p-value of forget truth ratios against the retain model's; null for the retain model itself.</summary>
    [JsonPropertyName("forget_quality")] public double? ForgetQuality { get; set; }
    [JsonPropertyName("forget_ks_statistic")] public double? ForgetKsStatistic { get; set; }
    /// <summary>MUSE VerbMem: unstemmed ROUGE-L F1 of the greedy continuation of the first half of each forget answer.</summary>
    [JsonPropertyName("verbmem_forget")] public required double VerbMem { get; init; }
    /// <summary>
    /// MUSE-style KnowMem: the TOFU ROUGE-L (stemmed recall) of greedy answers to forget / retain questions. MUSE's own
    /// KnowMem scores its QA sets by unstemmed ROUGE-L F1; here the TOFU sets and TOFU's scoring are reused.
    /// </summary>
    [JsonPropertyName("knowmem_forget")] public double KnowMemForget => Forget.RougeL;
    [JsonPropertyName("knowmem_retain")] public double KnowMemRetain => Retain.RougeL;
    /// <summary>
    /// MUSE's membership AUC (its <c>forget_holdout_Min-40%</c>): ROC AUC of the min-k% log-probability with the unseen
    /// authors' answers (holdout) as the positive class and the forget answers as the negative one. ≈0.5 when the model
    /// never saw the forget set; → 0 when it still ranks the forget answers as better known.
    /// </summary>
    [JsonPropertyName("mia_auc")] public required double MiaAuc { get; init; }
    /// <summary>
    /// MUSE PrivLeak in percent: (AUC − AUC_retain) / AUC_retain × 100; 0 is ideal, negative = still leaks the forget
    /// set (the target is near −100), positive = over-unlearned.
    /// </summary>
    [JsonPropertyName("privleak")] public double? PrivLeak { get; set; }
    [JsonPropertyName("forget_truth_ratios")] public required IReadOnlyList<double> ForgetTruthRatios { get; init; }
    [JsonPropertyName("examples_forget")] public required IReadOnlyList<ExampleAnswer> ForgetExamples { get; init; }
    /// <summary>Every greedy forget answer, in question order (scored for fluency under the retain model).</summary>
    [JsonPropertyName("answers_forget")] public IReadOnlyList<string> ForgetAnswers { get; init; } = [];
    /// <summary>Mean NLL per token of <see cref="ForgetAnswers"/> under the retain deployment (lower = more fluent).</summary>
    [JsonPropertyName("fluency_nll")] public double? FluencyNll { get; set; }
    [JsonPropertyName("examples_retain")] public required IReadOnlyList<ExampleAnswer> RetainExamples { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
}

/// <summary>One evaluation run: a forget set, its retain model and the deployments measured.</summary>
public sealed record EvaluationRun
{
    /// <summary>
    /// Results may hold ∞: a relative-top filter can give an answer probability 0, and its truth ratio is then infinite
    /// (which the KS test orders correctly). JSON has no such number, so it is written as "Infinity".
    /// </summary>
    public static readonly System.Text.Json.JsonSerializerOptions JsonOptions =
        new(Uld.Contracts.Json.Options) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, JsonOptions);

    public static EvaluationRun Load(string path) => ResultsJson.Load<EvaluationRun>(path, "an evaluation result");

    [JsonPropertyName("forget_set")] public required string ForgetSet { get; init; }
    [JsonPropertyName("split")] public required string Split { get; init; }
    [JsonPropertyName("retain_deployment")] public string? RetainDeployment { get; init; }
    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    [JsonPropertyName("results")] public required List<DeploymentResult> Results { get; init; }

    /// <summary>A deployment's fluency NLL over the retain model's own (1 = as fluent as the retain model); null without both.</summary>
    public double? FluencyRatio(DeploymentResult result) =>
        Results.FirstOrDefault(r => r.Deployment == RetainDeployment)?.FluencyNll is { } reference && result.FluencyNll is { } nll ? nll / reference : null;
}
