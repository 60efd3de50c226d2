using Uld.Contracts.OpenAi;
using Uld.Tokenization;
using Uld.LogitServer.Engine;

using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>What one choice produced, gathered from its sequence's events for a non-streaming response.</summary>
public sealed record ChoiceResult(string Text, string FinishReason, int CompletionTokens, List<TokenEvent> Tokens, PromptLogprobsEvent? PromptLogprobs)
{
    /// <summary>Reads a sequence to its end; stops it early when a stop string appears.</summary>
    public static async Task<ChoiceResult> CollectAsync(Sequence sequence, TextAssembler text, CancellationToken cancellationToken)
    {
        var tokens = new List<TokenEvent>();
        PromptLogprobsEvent? promptLogprobs = null;
        await foreach (var e in sequence.Events.ReadAllAsync(cancellationToken))
        {
            switch (e)
            {
                case PromptLogprobsEvent p:
                    promptLogprobs = p;
                    break;
                case TokenEvent t:
                    tokens.Add(t);
                    text.Add(t.Token);
                    if (text.Stopped)
                    {
                        sequence.Cancel();
                        return new ChoiceResult(text.Text, "stop", tokens.Count, tokens, promptLogprobs);
                    }
                    break;
                case FinishedEvent f:
                    text.Flush();
                    return new ChoiceResult(text.Text, f.Reason == "cancelled" ? "stop" : f.Reason, tokens.Count, tokens, promptLogprobs);
                case FailedEvent f:
                    throw new OpenAiException(500, f.Message, "server_error");
            }
        }
        throw new OpenAiException(500, "the generation ended without a result.", "server_error");
    }

    public static TokenLogprob ChatLogprob(ModelTokenizer tokenizer, TokenEvent t) => new(
        tokenizer.TokenText(t.Token), WireLogprob(t.Logprob), Bytes(tokenizer.TokenText(t.Token)),
        t.Top.Select(x => new TopLogprob(tokenizer.TokenText(x.Token), WireLogprob(x.Logprob), Bytes(tokenizer.TokenText(x.Token)))).ToList());

    /// <summary>
    /// JSON has no −∞: a token the ULD filter masked (probability 0) is reported as −9999, the floor OpenAI's API uses.
    /// </summary>
    public static double WireLogprob(float logprob) => float.IsNegativeInfinity(logprob) ? -9999.0 : logprob;

    private static int[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
}
