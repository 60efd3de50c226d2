using Uld.Contracts.OpenAi;
using Uld.Inference.Constraints;
using Uld.LogitServer.StructuredOutput;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Admission;

/// <summary>
/// A generation request that passed admission: its deployment, prompt tokens, n, limits and per-row sampling
/// settings (α and r already inside the deployment's policy). Only admitted requests reach the engine.
/// </summary>
public sealed record AdmittedRequest
{
    public required Deployment Deployment { get; init; }
    public required BatchScheduler Scheduler { get; init; }
    /// <summary>
    /// The hold on the deployment version this request was admitted to, given back when the response ends: the
    /// version's scheduler and sessions outlive a replacement until then (docs/DESIGN.md, *Runtime deployments*).
    /// </summary>
    public DeploymentLease? Lease { get; init; }
    /// <summary>The model name as the client sent it (and gets it back).</summary>
    public string Model => Deployment.Name;
    public required IReadOnlyList<int> Prompt { get; init; }
    /// <summary>The prompt as text when it was given as text (completions), for echo.</summary>
    public string? PromptText { get; init; }
    public required int N { get; init; }
    public required int MaxTokens { get; init; }
    public required IReadOnlyList<string> Stop { get; init; }
    public required SamplingParameters Sampling { get; init; }
    /// <summary>Structured output: what every choice's text must be (null: free text).</summary>
    public JsonGrammar? Grammar { get; init; }
    /// <summary>Chat with tools offered (tool_choice not none): answers are read for tool calls.</summary>
    public Tools.ToolUse? Tools { get; init; }
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    /// <summary>Per-token logprobs in the response (chat <c>logprobs: true</c>, completions <c>logprobs: k</c>).</summary>
    public bool Logprobs { get; init; }
    /// <summary>Completions: the prompt is repeated before the answer (and scored when <see cref="Logprobs"/>).</summary>
    public bool Echo { get; init; }
    /// <summary>Completions continue the prompt's last token: it is decoding context for the first generated one.</summary>
    public int? ContextToken { get; init; }

    /// <summary>The α actually applied, reported back to the client; null for kinds without α.</summary>
    public double? ReportedAlpha => Deployment.Kind.Report(Sampling).Alpha;
    public double? ReportedRelativeTop => Deployment.Kind.Report(Sampling).RelativeTop;
    /// <summary>The β actually applied by an offset deployment; null for the other kinds.</summary>
    public double? ReportedOffsetBeta => Deployment.Kind.Report(Sampling).OffsetBeta;

    /// <summary>Creates the n sequences and queues them; a full queue is a 503 with Retry-After.</summary>
    public IReadOnlyList<Sequence> Submit(CancellationToken requestAborted)
    {
        // The choices share one mask cache: they walk the same grammar and often reach the same states.
        var masks = Grammar is null ? null : new TokenMaskCache(ConstraintVocabularies.For(Deployment.Tokenizer));
        var sequences = Enumerable.Range(0, N)
            .Select(i => new Sequence(Prompt, Sampling, MaxTokens, Echo && Logprobs && i == 0, choice: i,
                constraint: Grammar is null ? null : new JsonTokenConstraint(Grammar, masks!, Deployment.EosId)))
            .ToList();
        foreach (var sequence in sequences)
        {
            if (!Scheduler.TryEnqueue(sequence))
            {
                foreach (var s in sequences) s.Cancel();
                throw OpenAiException.Overloaded($"'{Deployment.Name}' is at capacity; retry shortly.", retryAfterSeconds: 1);
            }
        }
        // A client that goes away frees its rows at the scheduler's next step.
        requestAborted.Register(() => { foreach (var s in sequences) s.Cancel(); });
        return sequences;
    }
}
