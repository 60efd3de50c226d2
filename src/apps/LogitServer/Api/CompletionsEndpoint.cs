using Uld.Contracts.OpenAi;
using Uld.LogitServer.Admission;
using Uld.LogitServer.Streaming;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// POST /v1/completions: formats an admitted request's <see cref="SequenceStream"/> as text completions. With echo +
/// logprobs + max_tokens 0 it scores a given text, which is how evaluation measures answer probabilities through the API.
/// </summary>
public static class CompletionsEndpoint
{
    public static Task HandleAsync(HttpContext context, RequestAdmission admission, CompletionLog log) =>
        GenerationHandler.HandleAsync(context, log, "cmpl-", admission.AdmitCompletionAsync, async generation =>
        {
            var (id, created, request, stream, outcome, aborted) = generation;
            var tokenizer = request.Deployment.Tokenizer;
            // Only echo shows the prompt; a token prompt is decoded for it, not for every request.
            var promptText = request.Echo ? request.PromptText ?? tokenizer.Decode(request.Prompt, skipSpecialTokens: true) : "";
            Completion Response(IReadOnlyList<CompletionChoice> choices, Usage? usage) =>
                new(id, "text_completion", created, request.Model, choices, usage, request.ReportedAlpha) { UldOffsetBeta = request.ReportedOffsetBeta };

            if (!request.Stream)
            {
                var results = await ChoiceCollector.CollectAsync(stream, outcome, aborted);
                var choices = results.Select((r, i) => new CompletionChoice(i, promptText + r.Text,
                    request.Logprobs ? LogprobFormat.Completion(tokenizer, request.Echo ? results[0].PromptLogprobs : null, request.Prompt, r.Tokens, promptText.Length) : null,
                    r.FinishReason)).ToList();
                var completionTokens = stream.CompletionTokens;
                await Results.Json(Response(choices, new Usage(request.Prompt.Count, completionTokens, request.Prompt.Count + completionTokens)), JsonBody.Options)
                    .ExecuteAsync(context);
                return;
            }

            Completion Chunk(int index, string text, string? finish) => Response([new CompletionChoice(index, text, null, finish)], null);
            await SseResponse.WriteAsync(context.Response, stream, outcome, new SseResponse.Format(
                Opening: index => request.Echo ? Chunk(index, promptText, null) : null,
                Chunk: e => e switch
                {
                    ChoiceText { Text.Length: > 0 } t => Chunk(t.Index, t.Text, null),
                    ChoiceFinished f => Chunk(f.Index, "", f.Reason),
                    _ => null,
                },
                UsageChunk: usage => Response([], usage)), aborted);
        });
}
