using Uld.Eval.Client;

namespace Uld.Eval.Corpora;

/// <summary>A passage in one model's tokens: what it follows (BOS, a prompt, a rendered chat) and its own tokens.</summary>
/// <param name="ContextLength">the model's context: prompt + passage must fit in it</param>
public sealed record PassageTokens(int[] Context, int[] Body, int ContextLength);

/// <summary>
/// Tokenises passages through the server (/tokenize, /detokenize), so every model is fed exactly its own tokens. Raw
/// text is encoded whole and split where it stops agreeing with the encoding of the text before the passage (a merge
/// across the boundary belongs to the passage); a chat answer is encoded as TOFU's answers are, " " + text after the
/// rendered prompt (<see cref="UldApiClient.AnswerTokensAsync"/>).
/// </summary>
public sealed class PassageTokenizer(UldApiClient client)
{
    public async Task<PassageTokens> TokensAsync(string model, PassageSource source, CancellationToken ct)
    {
        if (source.Conversation is { } conversation)
        {
            var prompt = await client.ChatPromptAsync(model, conversation, ct);
            return new PassageTokens(prompt.Tokens, await client.AnswerTokensAsync(model, source.Text, ct), prompt.ContextLength);
        }
        var before = await client.TextTokensAsync(model, source.RawPrompt, addSpecialTokens: true, ct);
        var whole = await client.TextTokensAsync(model, source.RawPrompt + source.Text, addSpecialTokens: true, ct);
        // A text record without BOS has nothing before its first token, which then cannot be scored: it becomes context.
        var split = Math.Max(CommonPrefix(before.Tokens, whole.Tokens), Math.Min(1, whole.Tokens.Length));
        return new PassageTokens(whole.Tokens[..split], whole.Tokens[split..], whole.ContextLength);
    }

    /// <summary>
    /// The text of the passage's first <paramref name="count"/> tokens as it reads after the context: what a
    /// continuation of them is appended to when another model re-reads it (undoing the " " a chat answer was given).
    /// </summary>
    public async Task<string> PrefixTextAsync(string model, PassageSource source, PassageTokens tokens, int count, CancellationToken ct)
    {
        if (source.Conversation is not null)
        {
            var text = await client.DetokenizeAsync(model, tokens.Body[..count], ct);
            return text.StartsWith(' ') ? text[1..] : text;
        }
        // Decoded with its context, as the tokens' text depends on what precedes them; the prompt decodes back to itself
        // unless the tokenizer normalised it, and then the decoded context is cut off instead.
        var all = await client.DetokenizeAsync(model, [.. tokens.Context, .. tokens.Body[..count]], ct);
        if (all.StartsWith(source.RawPrompt, StringComparison.Ordinal)) return all[source.RawPrompt.Length..];
        var head = await client.DetokenizeAsync(model, tokens.Context, ct);
        return all[Math.Min(head.Length, all.Length)..];
    }

    public static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var n = 0;
        while (n < a.Count && n < b.Count && a[n] == b[n]) n++;
        return n;
    }
}
