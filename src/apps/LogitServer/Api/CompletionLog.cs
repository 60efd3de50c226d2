using Uld.Contracts.OpenAi;
using Uld.LogitServer.Streaming;

namespace Uld.LogitServer.Api;

/// <summary>
/// One structured log line per completion request, whatever its end (served, refused, failed, abandoned): what an
/// operator needs to see which α a caller was served at and how the request ended.
/// </summary>
public sealed class CompletionLog(ILogger<CompletionLog> logger)
{
    /// <summary>Status logged for a client that disconnected before the answer was complete (nginx's convention).</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>Runs <paramref name="handle"/> and logs its outcome; exceptions pass through to the error middleware.</summary>
    public async Task RunAsync(HttpContext context, string id, Func<RequestOutcome, Task> handle)
    {
        var outcome = new RequestOutcome(id);
        try
        {
            await handle(outcome);
        }
        catch (OpenAiException e)
        {
            outcome.Status = e.Status;
            throw;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            outcome.Status = ClientClosedRequest;
            throw;
        }
        catch
        {
            outcome.Status = 500;
            throw;
        }
        finally
        {
            var request = outcome.Request;
            logger.LogInformation(
                "Completion {RequestId} model={Model} alpha={Alpha} relative_top={RelativeTop} offset_beta={OffsetBeta} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} finish_reason={FinishReason} status={Status}",
                id, request?.Model, request?.ReportedAlpha, request?.ReportedRelativeTop, request?.ReportedOffsetBeta, request?.Prompt.Count,
                outcome.Stream?.CompletionTokens, outcome.FinishReason, outcome.Status);
        }
    }
}
