using System.Globalization;
using System.Text;
using Uld.Contracts;

namespace Uld.Bench.LlamaCpp;

/// <summary>LogitServer's <c>plain</c> figures of one <c>uld-bench scale</c> server, the side llama.cpp is compared with.</summary>
public sealed record LogitServerFigures(double DecodeTokensPerSecond, double StreamsTokensPerSecond, double PrefillTokensPerSecond, double? LongPrefillTokensPerSecond);

/// <summary>
/// The llama.cpp rows of <c>uld-bench scale</c>: per shape and weight format, right after that format's server, llama.cpp
/// on the same weights decodes one stream as the server's decode measurement does (a short prompt, then the same number
/// of tokens), N sequences batched in one context, and prefills the short and (where the context allows) long prompt.
/// </summary>
public sealed class LlamaCppScaleRows(int threads, int decodeTokens, int streams, int prefillTokens, int longPrefillTokens)
{
    public const int PrefillRuns = 3;

    private sealed record Row(string Shape, string Format, string Type, LogitServerFigures LogitServer, LlamaCppRate Decode, LlamaCppRate Streams,
        string Batches, LlamaCppRate Prefill, LlamaCppRate? LongPrefill);

    private readonly List<Row> _rows = [];
    private readonly List<string> _skipped = [];
    private string? _engine;

    /// <summary>Records why <paramref name="what"/> (a shape, or a shape and format) has no llama.cpp row.</summary>
    public void Skip(string what, string reason) => _skipped.Add($"{what}: {reason}");

    /// <summary>Measures <paramref name="reference"/>; a failed run becomes a skipped row with its reason, not a failed benchmark.</summary>
    public void Measure(LlamaCppReference reference, string shape, LogitServerFigures logitServer, Action<string> status)
    {
        try
        {
            _engine ??= reference.Engine(threads);
            var prompt = PrefillProbe.ShortPromptTokens;
            status($"{shape}: llama.cpp {reference.GgufType}, 1 stream");
            var decode = reference.Speed(prompt, decodeTokens + 1, threads).Decode;
            status($"{shape}: llama.cpp {reference.GgufType}, {streams} sequences");
            var batch = reference.Batch(prompt, decodeTokens + 1, threads, streams);
            status($"{shape}: llama.cpp {reference.GgufType}, prefill {prefillTokens}");
            var prefill = reference.Prefill(prefillTokens, threads, PrefillRuns).Rate;
            LlamaCppRate? longPrefill = null;
            if (logitServer.LongPrefillTokensPerSecond is not null && reference.Fits(longPrefillTokens))
            {
                status($"{shape}: llama.cpp {reference.GgufType}, prefill {longPrefillTokens}");
                longPrefill = reference.Prefill(longPrefillTokens, threads, PrefillRuns).Rate;
            }
            _rows.Add(new Row(shape, reference.Format, reference.GgufType, logitServer, decode, batch.Decode, batch.DecodeBatches, prefill, longPrefill));
        }
        catch (UserErrorException e)
        {
            Skip($"{shape} {reference.Format}", $"a llama.cpp run failed: {e.Message}");
        }
    }

    public string Markdown()
    {
        var md = new StringBuilder().AppendLine("## llama.cpp on the same weights").AppendLine();
        if (_rows.Count > 0)
        {
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{_engine} on each shape's fp32 weights (`uld-trainer export-llama2c`), converted to GGUF f32 / q8_0 / q4_0 and " +
                $"run right after the fp32 / int8 / int4 server (the tools keep the embedding table at q8_0 for q4_0, as the int4 package keeps an 8-bit table). " +
                $"Decode: speed.mjs, a {PrefillProbe.ShortPromptTokens}-token prompt then {decodeTokens + 1} greedy tokens, tok/s over the last {decodeTokens} " +
                $"(LogitServer: the serving table's decode). {streams} streams: batch.mjs, {streams} sequences in one context decoded in lock-step, aggregate " +
                $"decode tok/s (LogitServer: {streams} concurrent completions, tokens over wall time). Prefill: prefill.mjs, median of {PrefillRuns} " +
                $"(LogitServer: the prompt less a {PrefillProbe.ShortPromptTokens}-token one, one run). llama.cpp tok/s are its own counters (time inside " +
                $"`llama_decode`), its script's wall clock in brackets; × is LogitServer `plain` over llama.cpp's counters."));
            md.AppendLine()
                .AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| shape | weights | GGUF | decode tok/s, 1 stream | llama.cpp | × | tok/s, {streams} streams | llama.cpp, {streams} sequences | × | prefill {prefillTokens} tok/s | llama.cpp | × | prefill {longPrefillTokens} tok/s | llama.cpp | × |"))
                .AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var r in _rows)
            {
                var l = r.LogitServer;
                var longCells = r.LongPrefill is { } lp && l.LongPrefillTokensPerSecond is { } ls
                    ? $"{F(ls)} | {Rate(lp)} | {F(ls / lp.Reference)}×"
                    : "– | – | –";
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Shape} | {r.Format} | {r.Type} | {F(l.DecodeTokensPerSecond)} | {Rate(r.Decode)} | {F(l.DecodeTokensPerSecond / r.Decode.Reference)}× | " +
                    $"{F(l.StreamsTokensPerSecond)} | {Rate(r.Streams)} | {F(l.StreamsTokensPerSecond / r.Streams.Reference)}× | " +
                    $"{F(l.PrefillTokensPerSecond)} | {Rate(r.Prefill)} | {F(l.PrefillTokensPerSecond / r.Prefill.Reference)}× | {longCells} |"));
            }
            md.AppendLine().AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"llama_decode calls of the {streams}-sequence decode phase: {string.Join("; ", _rows.Select(r => $"{r.Shape} {r.Type} {r.Batches}"))}. " +
                $"The {longPrefillTokens}-token prefill runs where the shape's context holds it."));
        }
        if (_skipped.Count > 0)
        {
            md.AppendLine().AppendLine("Not measured:");
            foreach (var s in _skipped) md.AppendLine($"- {s}");
        }
        return md.ToString();
    }

    private static string Rate(LlamaCppRate r) => $"{F(r.Reference)} ({F(r.Wall)})";
    private static string F(double v) => double.IsFinite(v) ? v.ToString("F1", CultureInfo.InvariantCulture) : "n/a";
}
