using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;

using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>POST /v1/chat/completions: the deployment's chat template, then generation, streamed or whole.</summary>
public static class ChatCompletionsEndpoint
{
    public static async Task HandleAsync(HttpContext context, SchedulerPool pool, IOptions<LogitServerOptions> options)
    {
        var aborted = context.RequestAborted;
        var request = await JsonBody.ReadAsync<ChatCompletionRequest>(context.Request, aborted);
        var messages = PromptBuilder.Messages(request.Messages);
        var scheduler = !string.IsNullOrWhiteSpace(request.Model) ? pool.Find(request.Model) : null;
        IReadOnlyList<int> prompt = scheduler is null ? [] : PromptBuilder.Chat(scheduler.Deployment, messages);
        if (request.TopLogprobs is not null && request.Logprobs != true)
            throw OpenAiException.InvalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
        var g = GenerationRequest.Validate(request, pool, prompt, request.MaxCompletionTokens ?? request.MaxTokens,
            request.Logprobs == true ? request.TopLogprobs ?? 0 : 0, promptLogprobs: false, options.Value.DefaultMaxTokens, allowZeroTokens: false);
        var wantLogprobs = request.Logprobs == true;
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var model = request.Model!;
        var sequences = g.Submit(aborted);
        var tokenizer = g.Deployment.Tokenizer;

        if (!g.Stream)
        {
            var results = await Task.WhenAll(sequences.Select(s => ChoiceResult.CollectAsync(s, new TextAssembler(tokenizer, g.Stop), aborted)));
            var choices = results.Select((r, i) => new ChatChoice(i, new AssistantMessage("assistant", r.Text),
                wantLogprobs ? new ChoiceLogprobs(r.Tokens.Select(t => ChoiceResult.ChatLogprob(tokenizer, t)).ToList()) : null, r.FinishReason)).ToList();
            var completionTokens = results.Sum(r => r.CompletionTokens);
            await Results.Json(new ChatCompletion(id, "chat.completion", created, model, choices,
                new Usage(g.Prompt.Count, completionTokens, g.Prompt.Count + completionTokens), g.ReportedAlpha), JsonBody.Options).ExecuteAsync(context);
            return;
        }

        var sse = new SseWriter(context.Response);
        ChatCompletionChunk Chunk(int index, ChunkDelta delta, ChoiceLogprobs? logprobs, string? finish) =>
            new(id, "chat.completion.chunk", created, model, [new ChunkChoice(index, delta, logprobs, finish)], null, g.ReportedAlpha);

        var total = 0;
        try
        {
            await Task.WhenAll(sequences.Select(async (sequence, index) =>
            {
                await sse.WriteAsync(Chunk(index, new ChunkDelta("assistant", ""), null, null), aborted);
                var text = new TextAssembler(tokenizer, g.Stop);
                await foreach (var e in sequence.Events.ReadAllAsync(aborted))
                {
                    switch (e)
                    {
                        case TokenEvent t:
                            Interlocked.Increment(ref total);
                            var delta = text.Add(t.Token);
                            var logprobs = wantLogprobs ? new ChoiceLogprobs([ChoiceResult.ChatLogprob(tokenizer, t)]) : null;
                            if (delta.Length > 0 || logprobs is not null) await sse.WriteAsync(Chunk(index, new ChunkDelta(null, delta), logprobs, null), aborted);
                            if (text.Stopped)
                            {
                                sequence.Cancel();
                                await sse.WriteAsync(Chunk(index, new ChunkDelta(null, null), null, "stop"), aborted);
                                return;
                            }
                            break;
                        case FinishedEvent f:
                            var rest = text.Flush();
                            if (rest.Length > 0) await sse.WriteAsync(Chunk(index, new ChunkDelta(null, rest), null, null), aborted);
                            await sse.WriteAsync(Chunk(index, new ChunkDelta(null, null), null, f.Reason == "length" ? "length" : "stop"), aborted);
                            return;
                        case FailedEvent f:
                            throw new OpenAiException(500, f.Message, "server_error");
                    }
                }
            }));
            if (g.IncludeUsage)
                await sse.WriteAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [], new Usage(g.Prompt.Count, total, g.Prompt.Count + total), g.ReportedAlpha), aborted);
            await sse.WriteDoneAsync(aborted);
        }
        catch (OpenAiException e) when (!aborted.IsCancellationRequested)
        {
            foreach (var s in sequences) s.Cancel();
            await sse.WriteErrorAsync(e, aborted);
        }
    }
}
