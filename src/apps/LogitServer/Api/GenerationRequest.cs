using Uld.Contracts.OpenAi;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;

using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>A validated request, ready to become sequences: the prompt, n, limits and per-row sampling settings.</summary>
public sealed record GenerationRequest(
    BatchScheduler Scheduler,
    IReadOnlyList<int> Prompt,
    int N,
    int MaxTokens,
    IReadOnlyList<string> Stop,
    SamplingParameters Sampling,
    bool Stream,
    bool IncludeUsage,
    bool PromptLogprobs)
{
    public Deployment Deployment => Scheduler.Deployment;
    /// <summary>The α actually applied, reported back to the client; null for plain deployments.</summary>
    public double? ReportedAlpha => Deployment.IsUld ? Sampling.Alpha : null;

    /// <summary>Checks the fields chat and text completions share and resolves the deployment's α policy.</summary>
    public static GenerationRequest Validate(CompletionRequestBase r, SchedulerPool pool, IReadOnlyList<int> prompt, int? maxTokens,
        int topLogprobs, bool promptLogprobs, int defaultMaxTokens, bool allowZeroTokens)
    {
        if (string.IsNullOrWhiteSpace(r.Model)) throw OpenAiException.InvalidRequest("'model' is required.", "model");
        var scheduler = pool.Find(r.Model) ?? throw OpenAiException.ModelNotFound(r.Model);
        var deployment = scheduler.Deployment;
        foreach (var key in r.Unknown?.Keys ?? Enumerable.Empty<string>())
        {
            // Unknown OpenAI fields are ignored for compatibility, but a misspelt ULD control must not silently do nothing.
            if (key.StartsWith("uld_", StringComparison.Ordinal)) throw OpenAiException.InvalidRequest($"Unknown parameter '{key}'.", key);
        }

        var temperature = r.Temperature ?? 1.0;
        if (!(temperature is >= 0 and <= 2)) throw OpenAiException.InvalidRequest("'temperature' must be between 0 and 2.", "temperature");
        var topP = r.TopP ?? 1.0;
        if (!(topP is > 0 and <= 1)) throw OpenAiException.InvalidRequest("'top_p' must be in (0, 1].", "top_p");
        var n = r.N ?? 1;
        if (n is < 1 or > 16) throw OpenAiException.InvalidRequest("'n' must be between 1 and 16.", "n");
        var stop = r.Stop ?? [];
        if (stop.Count > 4 || stop.Any(string.IsNullOrEmpty)) throw OpenAiException.InvalidRequest("'stop' takes up to 4 non-empty strings.", "stop");
        if (topLogprobs is < 0 or > 20) throw OpenAiException.InvalidRequest("top logprobs must be between 0 and 20.", "top_logprobs");
        var (alpha, relativeTop) = deployment.ResolveUld(r.UldAlpha, r.UldRelativeTop);

        var room = deployment.ContextLength - prompt.Count;
        if (maxTokens is < 0 || (maxTokens == 0 && !allowZeroTokens))
            throw OpenAiException.InvalidRequest("'max_tokens' must be at least 1.", "max_tokens");
        if (room < (maxTokens ?? 1) || (room <= 0 && !allowZeroTokens))
        {
            throw OpenAiException.InvalidRequest(
                $"This model's maximum context length is {deployment.ContextLength} tokens. However, you requested {prompt.Count + (maxTokens ?? 1)} tokens ({prompt.Count} in the prompt, {maxTokens ?? 1} for the completion).",
                "messages", "context_length_exceeded");
        }

        return new GenerationRequest(scheduler, prompt, n, maxTokens ?? Math.Min(defaultMaxTokens, room), stop,
            new SamplingParameters(temperature, topP, r.Seed, alpha, relativeTop, topLogprobs),
            r.Stream ?? false, r.StreamOptions?.IncludeUsage ?? false, promptLogprobs);
    }

    /// <summary>Creates the n sequences and queues them; a full queue is a 503 with Retry-After.</summary>
    public IReadOnlyList<Sequence> Submit(CancellationToken requestAborted)
    {
        var sequences = Enumerable.Range(0, N)
            .Select(i => new Sequence(Prompt, Sampling with { Seed = Sampling.Seed + i }, MaxTokens, PromptLogprobs && i == 0))
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
