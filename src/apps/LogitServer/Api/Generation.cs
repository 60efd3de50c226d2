using Uld.LogitServer.Admission;
using Uld.LogitServer.Streaming;

namespace Uld.LogitServer.Api;

/// <summary>An admitted request whose sequences are running: everything a response formatter needs.</summary>
public sealed record Generation(string Id, long Created, AdmittedRequest Request, SequenceStream Stream, RequestOutcome Outcome, CancellationToken Aborted);

/// <summary>
/// What chat and text completions share around their formatting: admission, queuing the sequences, the response id
/// and timestamp, and the request's log line.
/// </summary>
public static class GenerationHandler
{
    public static Task HandleAsync(HttpContext context, CompletionLog log, string idPrefix,
        Func<HttpRequest, CancellationToken, Task<AdmittedRequest>> admit, Func<Generation, Task> respond) =>
        log.RunAsync(context, idPrefix + Guid.NewGuid().ToString("N"), async outcome =>
        {
            var aborted = context.RequestAborted;
            var request = await admit(context.Request, aborted);
            using var hold = request.Lease;
            outcome.Request = request;
            var stream = SequenceStream.Start(request, aborted);
            outcome.Stream = stream;
            await respond(new Generation(outcome.Id, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), request, stream, outcome, aborted));
        });
}
