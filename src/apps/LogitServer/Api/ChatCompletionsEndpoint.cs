using Uld.Contracts.OpenAi;
using Uld.LogitServer.Admission;
using Uld.LogitServer.Streaming;
using Uld.LogitServer.Tools;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// POST /v1/chat/completions: formats an admitted request's <see cref="SequenceStream"/> as chat JSON or chunks. With
/// tools offered, each answer is read for tool calls (<see cref="ToolCallParser"/>): calls become <c>tool_calls</c>
/// (finish_reason "tool_calls"); streamed, a choice's text is sent as content until a call may have begun, and held
/// from there until the choice ends (<see cref="ToolCallStream"/>).
/// </summary>
public static class ChatCompletionsEndpoint
{
    public static Task HandleAsync(HttpContext context, RequestAdmission admission, CompletionLog log) =>
        GenerationHandler.HandleAsync(context, log, "chatcmpl-", admission.AdmitChatAsync, async generation =>
        {
            var (id, created, request, stream, outcome, aborted) = generation;
            var tokenizer = request.Deployment.Tokenizer;
            var tools = request.Tools;

            if (!request.Stream)
            {
                var results = await ChoiceCollector.CollectAsync(stream, outcome, aborted);
                var choices = results.Select((r, i) =>
                {
                    var (message, finish) = Answer(r.Text, r.FinishReason, tools);
                    return new ChatChoice(i, message, request.Logprobs ? new ChoiceLogprobs(r.Tokens.Select(t => LogprobFormat.Chat(tokenizer, t)).ToList()) : null, finish);
                }).ToList();
                var completionTokens = stream.CompletionTokens;
                await Results.Json(new ChatCompletion(id, "chat.completion", created, request.Model, choices,
                    new Usage(request.Prompt.Count, completionTokens, request.Prompt.Count + completionTokens), request.ReportedAlpha) { UldOffsetBeta = request.ReportedOffsetBeta }, JsonBody.Options).ExecuteAsync(context);
                return;
            }

            ChatCompletionChunk Chunk(IReadOnlyList<ChunkChoice> choices, Usage? usage = null) =>
                new(id, "chat.completion.chunk", created, request.Model, choices, usage, request.ReportedAlpha) { UldOffsetBeta = request.ReportedOffsetBeta };
            var calls = tools is null ? [] : Enumerable.Range(0, request.N).Select(_ => new ToolCallStream(tools.Format)).ToArray();
            object? WithTools(ChoiceEvent e)
            {
                switch (e)
                {
                    case ChoiceText t:
                        var content = calls[t.Index].Add(t.Text);
                        var logprobs = request.Logprobs && t.Token is { } token ? new ChoiceLogprobs([LogprobFormat.Chat(tokenizer, token)]) : null;
                        return content.Length > 0 || logprobs is not null
                            ? Chunk([new ChunkChoice(t.Index, new ChunkDelta(null, content.Length > 0 ? content : null), logprobs, null)])
                            : null;
                    case ChoiceFinished f:
                        var (rest, made) = calls[f.Index].Finish();
                        var chunks = new List<object>();
                        if (made.Count > 0 || rest is not null)
                        {
                            chunks.Add(Chunk([new ChunkChoice(f.Index, new ChunkDelta(null, rest)
                            {
                                ToolCalls = made.Count == 0 ? null
                                    : made.Select((c, i) => new ToolCallDelta(i, c.Id, c.Type, new FunctionCallDelta(c.Function.Name, c.Function.Arguments))).ToList(),
                            }, null, null)]));
                        }
                        chunks.Add(Chunk([new ChunkChoice(f.Index, new ChunkDelta(null, null), null, made.Count > 0 ? "tool_calls" : f.Reason)]));
                        return chunks.ToArray();
                    default:
                        return null;
                }
            }
            await SseResponse.WriteAsync(context.Response, stream, outcome, new SseResponse.Format(
                Opening: index => Chunk([new ChunkChoice(index, new ChunkDelta("assistant", ""), null, null)]),
                Chunk: tools is not null ? WithTools : e => e switch
                {
                    ChoiceText { Token: { } token } t when request.Logprobs =>
                        Chunk([new ChunkChoice(t.Index, new ChunkDelta(null, t.Text), new ChoiceLogprobs([LogprobFormat.Chat(tokenizer, token)]), null)]),
                    ChoiceText { Text.Length: > 0 } t => Chunk([new ChunkChoice(t.Index, new ChunkDelta(null, t.Text), null, null)]),
                    ChoiceFinished f => Chunk([new ChunkChoice(f.Index, new ChunkDelta(null, null), null, f.Reason)]),
                    _ => null,
                },
                UsageChunk: usage => Chunk([], usage)), aborted);
        });

    /// <summary>The assistant message for a choice's text: tool calls read out of it when tools were offered.</summary>
    private static (AssistantMessage Message, string FinishReason) Answer(string text, string finishReason, ToolUse? tools)
    {
        if (tools is null) return (new AssistantMessage("assistant", text), finishReason);
        var (content, calls) = ToolCallParser.Parse(text, tools.Format);
        return calls.Count == 0
            ? (new AssistantMessage("assistant", text), finishReason)
            : (new AssistantMessage("assistant", content) { ToolCalls = calls }, "tool_calls");
    }
}
