using System.Globalization;
using System.Text;
using Uld.Contracts;

namespace Uld.Bench.LlamaCpp;

/// <summary>
/// The llama.cpp rows of <c>uld-bench serve</c>: per round (between the cells, so both sides see the same machine
/// load) llama.cpp decodes one stream (speed.mjs) and, for every concurrency level N above one, N sequences batched in
/// one context (batch.mjs); after the rounds both sides prefill 256- and 2,000-token prompts where the context allows.
/// Rendered as one table of LogitServer / llama.cpp ratios.
/// </summary>
public sealed class LlamaCppServeRows(LlamaCppSide side, int threads, int tokens, IReadOnlyList<int> concurrency)
{
    public static readonly int[] PrefillPrompts = [256, 2000];
    public const int PrefillRuns = 3;

    private readonly Dictionary<int, List<LlamaCppRate>> _decode = [];
    private readonly Dictionary<int, string> _batches = [];
    private readonly List<(int Tokens, double LogitServer, LlamaCppRate LlamaCpp)> _prefill = [];
    private readonly List<string> _notes = [];
    private readonly string? _description = side.Reference?.Description(threads);

    /// <summary>One round: single stream and every batched level, once each.</summary>
    public void MeasureRound(Action<string> status)
    {
        if (side.Reference is not { } reference) return;
        try
        {
            foreach (var n in concurrency)
            {
                status($"llama.cpp {reference.GgufType}: {(n == 1 ? "1 stream" : $"{n} sequences")}");
                LlamaCppRate rate;
                if (n == 1) rate = reference.Speed(LlamaCppReference.DecodePromptTokens, tokens, threads).Decode;
                else
                {
                    var batch = reference.Batch(LlamaCppReference.DecodePromptTokens, tokens, threads, n);
                    (rate, _batches[n]) = (batch.Decode, batch.DecodeBatches);
                }
                if (!_decode.TryGetValue(n, out var list)) _decode[n] = list = [];
                list.Add(rate);
            }
        }
        catch (UserErrorException e)
        {
            side.Fail(e);
        }
    }

    /// <summary>Both sides' prefill of each prompt length that fits the model's context (LogitServer: <paramref name="deployment"/> over HTTP).</summary>
    public async Task MeasurePrefillAsync(HttpClient http, string deployment, int vocabSize, Action<string> status)
    {
        foreach (var length in PrefillPrompts)
        {
            if (side.Reference is not { } reference) return;
            if (!reference.Fits(length))
            {
                _notes.Add($"The {length}-token prefill is not run: the model's context is {reference.ContextLength} tokens.");
                continue;
            }
            status($"prefill {length} tokens: LogitServer {deployment}, then llama.cpp {reference.GgufType}");
            var ms = await PrefillProbe.MillisecondsAsync(http, deployment, length, vocabSize, PrefillRuns);
            try
            {
                _prefill.Add((length, PrefillProbe.TokensPerSecond(length, ms), reference.Prefill(length, threads, PrefillRuns).Rate));
            }
            catch (UserErrorException e)
            {
                side.Fail(e);
            }
        }
    }

    /// <summary>
    /// The section for serve.md: LogitServer <c>plain</c> over HTTP (<paramref name="httpTokensPerSecond"/> per stream
    /// count) and engine-only (<paramref name="engineTokensPerSecond"/>) against llama.cpp's own counters.
    /// </summary>
    public string Markdown(Func<int, double> httpTokensPerSecond, Func<int, double> engineTokensPerSecond, int rounds)
    {
        var md = new StringBuilder().AppendLine("## llama.cpp on the same weights").AppendLine();
        if (_decode.Count == 0 && _prefill.Count == 0)
            return md.AppendLine(CultureInfo.InvariantCulture, $"Not measured: {side.SkipReason ?? "no llama.cpp run finished"}").ToString();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{_description}, greedy, {tokens} tokens per sequence after a {LlamaCppReference.DecodePromptTokens}-token prompt. 1 stream: speed.mjs; " +
            $"N streams: batch.mjs, N sequences in one context decoded in lock-step (one `llama_decode` of N tokens per step); each once per round between " +
            $"the cells (rounds: {rounds}; mean). Prefill: prefill.mjs (median of {PrefillRuns}) against LogitServer `plain` over HTTP (the prompt less a " +
            $"{PrefillProbe.ShortPromptTokens}-token one, 1 new token, median of {PrefillRuns}). llama.cpp tok/s: its own counters (time inside `llama_decode`) " +
            $"and its script's wall clock. Ratios: LogitServer `plain` over llama.cpp's own counters."));
        md.AppendLine()
            .AppendLine("| measure | LogitServer plain tok/s | engine-only tok/s | llama.cpp tok/s (own counters) | llama.cpp tok/s (wall) | LogitServer / llama.cpp | engine-only / llama.cpp |")
            .AppendLine("|---|---|---|---|---|---|---|");
        foreach (var n in concurrency.Where(_decode.ContainsKey))
        {
            var (counters, wall) = (_decode[n].Average(r => r.Reference), _decode[n].Average(r => r.Wall));
            var (h, e) = (httpTokensPerSecond(n), engineTokensPerSecond(n));
            var measure = n == 1 ? "decode, 1 stream" : $"decode, {n} streams vs {n} sequences (aggregate; llama_decode: {_batches.GetValueOrDefault(n, "?")})";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {measure} | {F(h)} | {F(e)} | {F(counters)} | {F(wall)} | {F(h / counters)}× | {F(e / counters)}× |");
        }
        foreach (var (length, logitServer, llama) in _prefill)
            md.AppendLine(CultureInfo.InvariantCulture, $"| prefill, {length}-token prompt | {F(logitServer)} | – | {F(llama.Reference)} | {F(llama.Wall)} | {F(logitServer / llama.Reference)}× | – |");
        md.AppendLine();
        foreach (var note in _notes) md.AppendLine(note);
        if (side.SkipReason is { } reason) md.AppendLine(CultureInfo.InvariantCulture, $"Rows missing: {reason}");
        return md.ToString();
    }

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
