using Uld.Contracts.OpenAi;
using Uld.LogitServer.Admission;
using Uld.LogitServer.Streaming;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>POST /v1/chat/completions: formats an admitted request's <see cref="SequenceStream"/> as chat JSON or chunks.</summary>
public static class ChatCompletionsEndpoint
{
    public static Task HandleAsync(HttpContext context, RequestAdmission admission, CompletionLog log) =>
        GenerationHandler.HandleAsync(context, log, "chatcmpl-", admission.AdmitChatAsync, async generation =>
        {
            var (id, created, request, stream, outcome, aborted) = generation;
            var tokenizer = request.Deployment.Tokenizer;

            if (!request.Stream)
            {
                var results = await ChoiceCollector.CollectAsync(stream, outcome, aborted);
                var choices = results.Select((r, i) => new ChatChoice(i, new AssistantMessage("assistant", r.Text),
                    request.Logprobs ? new ChoiceLogprobs(r.Tokens.Select(t => LogprobFormat.Chat(tokenizer, t)).ToList()) : null, r.FinishReason)).ToList();
                var completionTokens = stream.CompletionTokens;
                await Results.Json(new ChatCompletion(id, "chat.completion", created, request.Model, choices,
                    new Usage(request.Prompt.Count, completionTokens, request.Prompt.Count + completionTokens), request.ReportedAlpha) { UldOffsetBeta = request.ReportedOffsetBeta }, JsonBody.Options).ExecuteAsync(context);
                return;
            }

            ChatCompletionChunk Chunk(IReadOnlyList<ChunkChoice> choices, Usage? usage = null) =>
                new(id, "chat.completion.chunk", created, request.Model, choices, usage, request.ReportedAlpha) { UldOffsetBeta = request.ReportedOffsetBeta };
            await SseResponse.WriteAsync(context.Response, stream, outcome, new SseResponse.Format(
                Opening: index => Chunk([new ChunkChoice(index, new ChunkDelta("assistant", ""), null, null)]),
                Chunk: e => e switch
                {
                    ChoiceText { Token: { } token } t when request.Logprobs =>
                        Chunk([new ChunkChoice(t.Index, new ChunkDelta(null, t.Text), new ChoiceLogprobs([LogprobFormat.Chat(tokenizer, token)]), null)]),
                    ChoiceText { Text.Length: > 0 } t => Chunk([new ChunkChoice(t.Index, new ChunkDelta(null, t.Text), null, null)]),
                    ChoiceFinished f => Chunk([new ChunkChoice(f.Index, new ChunkDelta(null, null), null, f.Reason)]),
                    _ => null,
                },
                UsageChunk: usage => Chunk([], usage)), aborted);
        });
}
