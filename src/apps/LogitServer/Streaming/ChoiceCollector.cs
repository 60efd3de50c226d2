using Uld.Contracts.OpenAi;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Streaming;

/// <summary>What one choice produced, for a non-streaming response.</summary>
public sealed record CollectedChoice(string Text, string FinishReason, IReadOnlyList<TokenEvent> Tokens, PromptLogprobsEvent? PromptLogprobs);

/// <summary>Reads a <see cref="SequenceStream"/> to its end for a JSON response; a failed choice fails the request (500).</summary>
public static class ChoiceCollector
{
    public static async Task<IReadOnlyList<CollectedChoice>> CollectAsync(SequenceStream stream, RequestOutcome outcome, CancellationToken cancellationToken)
    {
        var n = stream.Request.N;
        var texts = Enumerable.Range(0, n).Select(_ => new System.Text.StringBuilder()).ToArray();
        var tokens = Enumerable.Range(0, n).Select(_ => new List<TokenEvent>()).ToArray();
        var reasons = new string[n];
        var prompts = new PromptLogprobsEvent?[n];
        await foreach (var e in stream.ReadAllAsync(cancellationToken))
        {
            switch (e)
            {
                case ChoiceText t:
                    texts[t.Index].Append(t.Text);
                    if (t.Token is not null) tokens[t.Index].Add(t.Token);
                    break;
                case ChoicePromptLogprobs p:
                    prompts[p.Index] = p.Logprobs;
                    break;
                case ChoiceFinished f:
                    reasons[f.Index] = f.Reason;
                    outcome.Finished(f.Index, f.Reason);
                    break;
                case ChoiceFailed f:
                    throw new OpenAiException(500, f.Message, "server_error");
            }
        }
        return Enumerable.Range(0, n).Select(i => new CollectedChoice(texts[i].ToString(), reasons[i], tokens[i], prompts[i])).ToList();
    }
}
