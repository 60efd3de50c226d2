using Uld.Contracts.OpenAi;
using Uld.LogitServer.Engine;
using Uld.Tokenization;

namespace Uld.LogitServer.Api;

/// <summary>Token log-probabilities in the OpenAI wire shapes.</summary>
public static class LogprobFormat
{
    public static TokenLogprob Chat(ModelTokenizer tokenizer, TokenEvent t) => new(
        tokenizer.TokenText(t.Token), Wire(t.Logprob), Bytes(tokenizer, t.Token),
        t.Top.Select(x => new TopLogprob(tokenizer.TokenText(x.Token), Wire(x.Logprob), Bytes(tokenizer, x.Token))).ToList());

    /// <summary>
    /// JSON has no −∞: a token the ULD filter masked (probability 0) is reported as −9999, the floor OpenAI's API uses.
    /// </summary>
    public static double Wire(float logprob) => float.IsNegativeInfinity(logprob) ? -9999.0 : logprob;

    /// <summary>Legacy completions logprobs: echoed prompt tokens (without BOS) then generated ones.</summary>
    public static CompletionLogprobs Completion(ModelTokenizer tokenizer, PromptLogprobsEvent? prompt, IReadOnlyList<int> promptIds,
        IReadOnlyList<TokenEvent> generated, int offset)
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
            logprobs.Add(logprob is { } value ? Wire((float)value) : null);
            var dict = new Dictionary<string, double>();
            foreach (var (t, lp) in top) dict.TryAdd(tokenizer.TokenText(t), Wire(lp));
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
        foreach (var t in generated) Add(t.Token, t.Logprob, t.Top);
        return new CompletionLogprobs(tokens, logprobs, tops, offsets);
    }

    /// <summary>
    /// The token's own bytes, not those of its text: a byte-fallback token such as &lt;0xE6&gt; is half a character, whose
    /// text is U+FFFD; its bytes ([230]) are what lets a client rebuild the character split over tokens.
    /// </summary>
    public static int[] Bytes(ModelTokenizer tokenizer, int token)
    {
        var bytes = tokenizer.TokenBytes(token);
        var result = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) result[i] = bytes[i];
        return result;
    }
}
