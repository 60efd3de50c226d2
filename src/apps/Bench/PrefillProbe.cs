namespace Uld.Bench;

/// <summary>
/// LogitServer's prefill speed over HTTP: a completion of one new token for a long prompt of token ids, minus the same
/// for a <see cref="ShortPromptTokens"/>-token prompt, leaves the long prompt's prefill (HTTP, sampling and the first
/// step's fixed costs cancel). Token ids are synthetic: prefill cost does not depend on which tokens they are.
/// </summary>
public static class PrefillProbe
{
    public const int ShortPromptTokens = 4;

    /// <summary>BOS then a fixed spread of ids of the vocabulary (for Llama-2-sized vocabularies the ids <c>uld-bench scale</c> always used).</summary>
    public static int[] Prompt(int length, int vocabSize)
    {
        var span = Math.Min(30_000, vocabSize - 100);
        if (span <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "a vocabulary of more than 100 tokens is needed.");
        return [.. Enumerable.Range(0, length).Select(i => i == 0 ? 1 : (7919 * i + 13) % span + 100)];
    }

    /// <summary>
    /// Prefill tokens per second of a <paramref name="promptTokens"/>-token prompt whose prefill (less the short prompt's)
    /// took <paramref name="milliseconds"/>; NaN when noise left no positive difference (a tiny model on a busy machine).
    /// </summary>
    public static double TokensPerSecond(int promptTokens, double milliseconds) =>
        milliseconds > 0 ? (promptTokens - ShortPromptTokens) / (milliseconds / 1000) : double.NaN;

    /// <summary>The median over <paramref name="runs"/> of the long prompt's prefill milliseconds, less the short prompt's.</summary>
    public static async Task<double> MillisecondsAsync(HttpClient http, string deployment, int promptTokens, int vocabSize, int runs)
    {
        var (shortPrompt, longPrompt) = (Prompt(ShortPromptTokens, vocabSize), Prompt(promptTokens, vocabSize));
        var times = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            var one = await LoadClient.CompleteAsync(http, deployment, shortPrompt, 1);
            var prefill = await LoadClient.CompleteAsync(http, deployment, longPrompt, 1);
            times.Add((prefill.Seconds - one.Seconds) * 1000);
        }
        times.Sort();
        return times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
    }
}
