using System.Text.Json;
using Uld.Contracts.OpenAi;
using Uld.Tokenization;
using Uld.LogitServer.Engine;

using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// POST /v1/completions: raw-prompt generation. With echo + logprobs + max_tokens 0 it scores a given text, which is
/// how evaluation measures answer probabilities through the API.
/// </summary>
public static class CompletionsEndpoint
{
    /// <summary>OpenAI's default for /v1/completions.</summary>
    private const int DefaultMaxTokens = 16;

    public static async Task HandleAsync(HttpContext context, SchedulerPool pool)
    {
        var aborted = context.RequestAborted;
        var request = await JsonBody.ReadAsync<CompletionRequest>(context.Request, aborted);
        var scheduler = !string.IsNullOrWhiteSpace(request.Model) ? pool.Find(request.Model) : null;
        var (prompt, text) = PromptBuilder.Completion(scheduler?.Deployment, request.Prompt);
        var echo = request.Echo ?? false;
        var topLogprobs = request.Logprobs ?? 0;
        if (request.Stream == true && echo && request.Logprobs is not null)
            throw OpenAiException.InvalidRequest("echo with logprobs is not supported when streaming.", "stream");

        var g = GenerationRequest.Validate(request, pool, prompt, request.MaxTokens ?? DefaultMaxTokens, topLogprobs,
            promptLogprobs: echo && request.Logprobs is not null, DefaultMaxTokens, allowZeroTokens: true);
        var id = "cmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var model = request.Model!;
        var sequences = g.Submit(aborted);
        var tokenizer = g.Deployment.Tokenizer;
        // Only echo shows the prompt; a token prompt is decoded for it, not for every request.
        var promptText = echo ? text ?? tokenizer.Decode(prompt) : "";
        var lastPromptToken = prompt[^1];

        if (g.Stream)
        {
            var sse = new SseWriter(context.Response);
            var total = 0;
            await Task.WhenAll(sequences.Select(async (sequence, index) =>
            {
                var text = new TextAssembler(tokenizer, g.Stop, lastPromptToken);
                if (echo) await sse.WriteAsync(Chunk(id, created, model, index, promptText, null, g.ReportedAlpha), aborted);
                await foreach (var e in sequence.Events.ReadAllAsync(aborted))
                {
                    string? finish = null;
                    var delta = "";
                    if (e is TokenEvent t)
                    {
                        Interlocked.Increment(ref total);
                        delta = text.Add(t.Token);
                        if (text.Stopped)
                        {
                            sequence.Cancel();
                            finish = "stop";
                        }
                    }
                    else if (e is FinishedEvent f)
                    {
                        delta = text.Flush();
                        finish = f.Reason == "length" ? "length" : "stop";
                    }
                    else if (e is FailedEvent failed)
                    {
                        await sse.WriteErrorAsync(new OpenAiException(500, failed.Message, "server_error"), aborted);
                        return;
                    }
                    if (delta.Length > 0 || finish is not null) await sse.WriteAsync(Chunk(id, created, model, index, delta, finish, g.ReportedAlpha), aborted);
                    if (finish is not null) return;
                }
            }));
            if (g.IncludeUsage)
                await sse.WriteAsync(new Completion(id, "text_completion", created, model, [], new Usage(g.Prompt.Count, total, g.Prompt.Count + total), g.ReportedAlpha), aborted);
            await sse.WriteDoneAsync(aborted);
            return;
        }

        var results = await Task.WhenAll(sequences.Select(s => ChoiceResult.CollectAsync(s, new TextAssembler(tokenizer, g.Stop, lastPromptToken), aborted)));
        var choices = results.Select((r, i) => new CompletionChoice(i, (echo ? promptText : "") + r.Text,
            request.Logprobs is null ? null : Logprobs(tokenizer, echo ? results[0].PromptLogprobs : null, prompt, r, echo ? promptText.Length : 0),
            r.FinishReason)).ToList();
        var completionTokens = results.Sum(r => r.CompletionTokens);
        await Results.Json(new Completion(id, "text_completion", created, model, choices,
            new Usage(g.Prompt.Count, completionTokens, g.Prompt.Count + completionTokens), g.ReportedAlpha), JsonBody.Options).ExecuteAsync(context);
    }

    private static Completion Chunk(string id, long created, string model, int index, string text, string? finish, double? alpha) =>
        new(id, "text_completion", created, model, [new CompletionChoice(index, text, null, finish)], null, alpha);

    /// <summary>
    /// Legacy completions logprobs: echoed prompt tokens (without BOS) then generated ones.
    /// </summary>
    private static CompletionLogprobs Logprobs(ModelTokenizer tokenizer, PromptLogprobsEvent? prompt, IReadOnlyList<int> promptIds, ChoiceResult result, int offset)
    {
        var tokens = new List<string>();
        var logprobs = new List<double?>();
        var tops = new List<Dictionary<string, double>?>();
        var offsets = new List<int>();
        var position = 0;
        void Add(int token, double? logprob, (int Token, float Logprob)[] top)
        {
            var text = tokenizer.TokenText(token);
            tokens.Add(text);
            logprobs.Add(logprob is { } value ? ChoiceResult.WireLogprob((float)value) : null);
            var dict = new Dictionary<string, double>();
            foreach (var (t, lp) in top) dict.TryAdd(tokenizer.TokenText(t), ChoiceResult.WireLogprob(lp));
            tops.Add(dict);
            offsets.Add(position);
            position += text.Length;
        }
        if (prompt is not null)
        {
            // The first token has no logprob; a BOS is left out of the echo like it is left out of the text.
            var first = promptIds[0] == tokenizer.Ids.Bos ? 1 : 0;
            for (var i = first; i < promptIds.Count; i++) Add(promptIds[i], i == 0 ? null : prompt.Logprobs[i], i == 0 ? [] : prompt.Top[i]);
        }
        position = Math.Max(position, offset);
        foreach (var t in result.Tokens) Add(t.Token, t.Logprob, t.Top);
        return new CompletionLogprobs(tokens, logprobs, tops, offsets);
    }
}
