using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Uld.LogitServer.Admission;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Streaming;

/// <summary>
/// The running sequences of one admitted request as one async stream of per-choice events: text assembled from tokens
/// (stop strings cut it and end the sequence), then exactly one <see cref="ChoiceFinished"/> or
/// <see cref="ChoiceFailed"/> per choice. Chat and text completions format this stream; neither reads the engine.
/// </summary>
public sealed class SequenceStream
{
    private readonly AdmittedRequest _request;
    private readonly IReadOnlyList<Sequence> _sequences;
    private int _completionTokens;

    private SequenceStream(AdmittedRequest request, IReadOnlyList<Sequence> sequences)
    {
        _request = request;
        _sequences = sequences;
    }

    /// <summary>Queues the request's sequences (503 when the queue is full, before anything is written).</summary>
    public static SequenceStream Start(AdmittedRequest request, CancellationToken requestAborted) => new(request, request.Submit(requestAborted));

    /// <summary>A stream over sequences someone else runs (tests drive sequences by hand).</summary>
    internal static SequenceStream Over(AdmittedRequest request, IReadOnlyList<Sequence> sequences) => new(request, sequences);

    public AdmittedRequest Request => _request;
    /// <summary>Tokens generated so far over all choices.</summary>
    public int CompletionTokens => Volatile.Read(ref _completionTokens);

    /// <summary>Every choice's events, interleaved as they happen; stopping early cancels what is still running.</summary>
    public async IAsyncEnumerable<ChoiceEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var merged = Channel.CreateUnbounded<ChoiceEvent>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = _sequences.Select((sequence, index) => PumpAsync(sequence, index, merged.Writer, cancellationToken)).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => merged.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var e in merged.Reader.ReadAllAsync(cancellationToken)) yield return e;
        }
        finally
        {
            // A reader that stops early (a failed choice, a client gone) frees the rows still generating.
            foreach (var s in _sequences) s.Cancel();
        }
    }

    private async Task PumpAsync(Sequence sequence, int index, ChannelWriter<ChoiceEvent> output, CancellationToken cancellationToken)
    {
        var text = new TextAssembler(_request.Deployment.Tokenizer, _request.Stop, _request.ContextToken);
        await foreach (var e in sequence.Events.ReadAllAsync(cancellationToken))
        {
            switch (e)
            {
                case PromptLogprobsEvent p:
                    output.TryWrite(new ChoicePromptLogprobs(index, p));
                    break;
                case TokenEvent t:
                    Interlocked.Increment(ref _completionTokens);
                    output.TryWrite(new ChoiceText(index, text.Add(t.Token), t));
                    if (!text.Stopped) break;
                    sequence.Cancel();
                    output.TryWrite(new ChoiceFinished(index, "stop"));
                    return;
                case FinishedEvent f:
                    if (text.Flush() is { Length: > 0 } rest) output.TryWrite(new ChoiceText(index, rest, null));
                    output.TryWrite(new ChoiceFinished(index, f.Reason == "length" ? "length" : "stop"));
                    return;
                case FailedEvent f:
                    output.TryWrite(new ChoiceFailed(index, f.Message));
                    return;
            }
        }
        output.TryWrite(new ChoiceFailed(index, "the generation ended without a result."));
    }
}
