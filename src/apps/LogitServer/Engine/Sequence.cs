using System.Threading.Channels;
using Uld.Inference.Sampling;

namespace Uld.LogitServer.Engine;

/// <summary>Per-request decoding settings; every row of a batch carries its own.</summary>
/// <param name="Sampler">The client's sampling controls, applied after the deployment's decode rule.</param>
/// <param name="OffsetBeta">β of an offset deployment (0 elsewhere).</param>
public sealed record SamplingParameters(SamplingSettings Sampler, double Alpha, double RelativeTop, int TopLogprobs, double OffsetBeta = 0);

/// <summary>What a sequence reports to the request that owns it, in order.</summary>
public abstract record SequenceEvent;

/// <summary>A generated token with its log-probability under the served (combined) distribution.</summary>
public sealed record TokenEvent(int Token, float Logprob, (int Token, float Logprob)[] Top) : SequenceEvent;

/// <summary>Log-probabilities of the prompt's tokens (the first has none), for completions with echo.</summary>
public sealed record PromptLogprobsEvent(float?[] Logprobs, (int Token, float Logprob)[][] Top) : SequenceEvent;

/// <summary>The end: "stop" (EOS), "length" (max tokens) or "cancelled".</summary>
public sealed record FinishedEvent(string Reason) : SequenceEvent;

public sealed record FailedEvent(string Message) : SequenceEvent;

/// <summary>
/// One generation in the engine. The HTTP side reads <see cref="Events"/> and may <see cref="Cancel"/> (client gone,
/// stop string seen); the scheduler frees the slot at its next step.
/// </summary>
public sealed class Sequence
{
    private readonly Channel<SequenceEvent> _events = Channel.CreateUnbounded<SequenceEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private volatile bool _cancelled;

    /// <param name="choice">The choice's index in its request, which a seeded sampler's generator depends on.</param>
    /// <param name="constraint">Structured output: the tokens that may come next (null: any).</param>
    public Sequence(IReadOnlyList<int> prompt, SamplingParameters parameters, int maxNewTokens, bool promptLogprobs = false, int choice = 0,
        ITokenConstraint? constraint = null)
    {
        if (prompt.Count == 0) throw new ArgumentException("a prompt needs at least one token.", nameof(prompt));
        Prompt = prompt;
        Parameters = parameters;
        MaxNewTokens = maxNewTokens;
        WantsPromptLogprobs = promptLogprobs;
        Sampler = new TokenSampler(parameters.Sampler, prompt, choice, constraint);
    }

    public IReadOnlyList<int> Prompt { get; }
    public SamplingParameters Parameters { get; }
    public int MaxNewTokens { get; }
    public bool WantsPromptLogprobs { get; }
    public ChannelReader<SequenceEvent> Events => _events.Reader;
    public bool IsCancelled => _cancelled;
    public long EnqueuedTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    internal TokenSampler Sampler { get; }
    internal int Generated { get; set; }
    /// <summary>The last sampled token, not yet fed to the models.</summary>
    internal int PendingToken { get; set; }

    public void Cancel() => _cancelled = true;

    internal void Emit(SequenceEvent e) => _events.Writer.TryWrite(e);

    internal void Complete(SequenceEvent last)
    {
        _events.Writer.TryWrite(last);
        _events.Writer.TryComplete();
    }
}
