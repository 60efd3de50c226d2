using System.Text.Json.Serialization;
using Uld.Contracts;
using Uld.Eval.Tofu;

namespace Uld.Eval.Corpora;

/// <summary>Memorisation of one corpus (forget or retain) by one deployment.</summary>
public sealed record CorpusSetMetrics
{
    /// <summary>Passages scored: records with at least prefix + 1 tokens whose prompt fits the context.</summary>
    [JsonPropertyName("passages")] public required int Passages { get; init; }
    /// <summary>Records left out: too short for the prefix and one true token, or too long a prompt for the context.</summary>
    [JsonPropertyName("skipped")] public required int Skipped { get; init; }
    /// <summary>Mean stemmed ROUGE-L recall of the greedy continuation of each passage's first k tokens against its next tokens.</summary>
    [JsonPropertyName("verbmem")] public required double VerbMem { get; init; }
    /// <summary>Mean stemmed ROUGE-L recall of greedy answers to the questions (question/answer corpora only).</summary>
    [JsonPropertyName("knowmem")] public double? KnowMem { get; init; }
}

/// <summary>One forget passage: the prompt's text, what truly follows, and what the deployment wrote.</summary>
public sealed record ExampleContinuation(
    [property: JsonPropertyName("line")] int Line,
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("truth")] string Truth,
    [property: JsonPropertyName("continuation")] string Continuation,
    [property: JsonPropertyName("rouge_l_recall")] double RougeL);

/// <summary>Everything measured for one deployment on a user's corpora.</summary>
public sealed record CorpusDeploymentResult
{
    [JsonPropertyName("deployment")] public required string Deployment { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("alpha")] public double? Alpha { get; init; }
    [JsonPropertyName("relative_top")] public double? RelativeTop { get; init; }
    [JsonPropertyName("forget")] public required CorpusSetMetrics Forget { get; init; }
    [JsonPropertyName("retain")] public required CorpusSetMetrics Retain { get; init; }
    /// <summary>Min-k% membership AUC, holdout vs forget (<see cref="Uld.Evaluation.Metrics.Membership.Auc"/>); null without a holdout.</summary>
    [JsonPropertyName("mia_auc")] public double? MiaAuc { get; init; }
    /// <summary>MUSE PrivLeak in percent against the retain model; null without a holdout and a retain model.</summary>
    [JsonPropertyName("privleak")] public double? PrivLeak { get; set; }
    /// <summary>Mean number of tokens of the forget continuations (at most the continuation length).</summary>
    [JsonPropertyName("continuation_tokens_mean")] public required double ContinuationTokensMean { get; init; }
    /// <summary>Forget continuations with no text: the model ended (EOS) at once. Fluency cannot see them, this does.</summary>
    [JsonPropertyName("empty_continuations")] public required int EmptyContinuations { get; init; }
    /// <summary>exp(mean NLL per token) of the forget continuations under the judge; null without a judge or with no token.</summary>
    [JsonPropertyName("fluency_ppl")] public double? FluencyPerplexity { get; set; }
    /// <summary>Continuation tokens (in the judge's tokens) the perplexity is over.</summary>
    [JsonPropertyName("fluency_tokens")] public int FluencyTokens { get; set; }
    /// <summary><see cref="FluencyPerplexity"/> over the retain model's (1 = as fluent as the retain model).</summary>
    [JsonPropertyName("fluency_ppl_ratio")] public double? FluencyRatio { get; set; }
    [JsonPropertyName("examples_forget")] public required IReadOnlyList<ExampleContinuation> ForgetExamples { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
}

/// <summary>A corpus file as it was read: enough to tell later whether a result is about the same data.</summary>
public sealed record CorpusFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("records")] int Records,
    [property: JsonPropertyName("sha256")] string? Sha256);

public sealed record CorpusSettings
{
    [JsonPropertyName("prefix_tokens")] public required int PrefixTokens { get; init; }
    [JsonPropertyName("continuation_tokens")] public required int ContinuationTokens { get; init; }
    [JsonPropertyName("max_answer_tokens")] public required int MaxAnswerTokens { get; init; }
    /// <summary>Records read per file at most (--max-records); null = all.</summary>
    [JsonPropertyName("max_records")] public int? MaxRecords { get; init; }
    [JsonPropertyName("min_k_fraction")] public required double MinKFraction { get; init; }
    [JsonPropertyName("retain_deployment")] public string? RetainDeployment { get; init; }
    [JsonPropertyName("judge")] public string? Judge { get; init; }
    [JsonPropertyName("forget")] public required CorpusFile Forget { get; init; }
    [JsonPropertyName("retain")] public required CorpusFile Retain { get; init; }
    [JsonPropertyName("holdout")] public CorpusFile? Holdout { get; init; }
}

/// <summary>One <c>uld-eval corpus</c> run: its settings and every deployment's result.</summary>
public sealed record CorpusRun
{
    [JsonPropertyName("settings")] public required CorpusSettings Settings { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    [JsonPropertyName("results")] public required IReadOnlyList<CorpusDeploymentResult> Results { get; init; }

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, EvaluationRun.JsonOptions);

    public static CorpusRun Load(string path) => ResultsJson.Load<CorpusRun>(path, "a corpus result (uld-eval corpus)");

    /// <summary>The result of <paramref name="deployment"/>, or a user error naming the file it is missing from.</summary>
    public CorpusDeploymentResult Deployment(string deployment, string path) =>
        Results.FirstOrDefault(r => r.Deployment == deployment) ?? throw new UserErrorException($"{path} has no result for the deployment '{deployment}'.");
}
