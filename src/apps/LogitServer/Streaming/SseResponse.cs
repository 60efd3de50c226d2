using Uld.Contracts.OpenAi;
using Uld.Web;

namespace Uld.LogitServer.Streaming;

/// <summary>
/// Writes a <see cref="SequenceStream"/> as server-sent events. The caller says how events look (chat chunks or text
/// completion chunks); this decides when the stream ends: after usage (if asked for) or after the first failed choice
/// (an error event, the other choices cancelled) — with exactly one <c>data: [DONE]</c> either way.
/// </summary>
public static class SseResponse
{
    public sealed record Format(
        Func<int, object?> Opening,
        /// <summary>The chunk an event becomes (an object[] for several, null for none).</summary>
        Func<ChoiceEvent, object?> Chunk,
        Func<Usage, object> UsageChunk);

    public static async Task WriteAsync(HttpResponse response, SequenceStream stream, RequestOutcome outcome, Format format, CancellationToken cancellationToken)
    {
        var sse = new SseWriter(response);
        var request = stream.Request;
        for (var i = 0; i < request.N; i++)
        {
            if (format.Opening(i) is { } opening) await sse.WriteAsync(opening, cancellationToken);
        }
        await foreach (var e in stream.ReadAllAsync(cancellationToken))
        {
            if (e is ChoiceFailed failed)
            {
                outcome.Status = 500;
                // Leaving the loop cancels the other choices; WriteErrorAsync ends the stream with [DONE].
                await sse.WriteErrorAsync(new OpenAiException(500, failed.Message, "server_error"), cancellationToken);
                return;
            }
            if (e is ChoiceFinished finished) outcome.Finished(finished.Index, finished.Reason);
            switch (format.Chunk(e))
            {
                case object[] chunks:
                    foreach (var c in chunks) await sse.WriteAsync(c, cancellationToken);
                    break;
                case { } chunk:
                    await sse.WriteAsync(chunk, cancellationToken);
                    break;
            }
        }
        if (request.IncludeUsage)
        {
            var completion = stream.CompletionTokens;
            await sse.WriteAsync(format.UsageChunk(new Usage(request.Prompt.Count, completion, request.Prompt.Count + completion)), cancellationToken);
        }
        await sse.WriteDoneAsync(cancellationToken);
    }
}
