using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts;

namespace Uld.Bench.LlamaCpp;

/// <summary>
/// One phase's speed as the llama.cpp scripts report it, two ways: <see cref="Counters"/> is llama.cpp's own
/// <c>llama_perf_context</c> figure (tokens over the time spent inside <c>llama_decode</c>, as llama-bench reports;
/// null where llama.cpp counted nothing) and <see cref="Wall"/> the script's JS wall clock around the same tokens,
/// sampling and node-llama-cpp's per-token overhead included (../shared/tools/llamacpp/README.md, *Examples*).
/// </summary>
public sealed record LlamaCppRate(double Wall, double? Counters)
{
    /// <summary>The figure ratios divide by: llama.cpp's own counter, or the wall clock where it has none.</summary>
    public double Reference => Counters ?? Wall;
}

/// <summary>speed.mjs: one sequence, a prompt of <see cref="PromptTokens"/> then exactly <see cref="Tokens"/> greedy tokens.</summary>
public sealed record LlamaCppSpeed(int PromptTokens, int Tokens, int Threads, LlamaCppRate Prompt, LlamaCppRate Decode, string Text);

/// <summary>
/// batch.mjs: <see cref="Sequences"/> sequences in one context decoded in lock-step; <see cref="Decode"/> is the
/// aggregate over all sequences; <see cref="DecodeBatches"/> the <c>llama_decode</c> calls of the decode phase by
/// size ("63 × 8 tok"), the proof that each step was one batch.
/// </summary>
public sealed record LlamaCppBatch(int Sequences, int PromptTokens, int Tokens, int Threads, LlamaCppRate Decode, string DecodeBatches);

/// <summary>prefill.mjs: prompt evaluation of one <see cref="PromptTokens"/>-token prompt, the median of <see cref="Runs"/> runs.</summary>
public sealed record LlamaCppPrefill(int PromptTokens, int Threads, int Runs, LlamaCppRate Rate);

/// <summary>Reads the scripts' <c>RESULT {json}</c> lines (and speed.mjs's <c>text:</c> line) into records.</summary>
public static class LlamaCppResults
{
    public static LlamaCppSpeed Speed(string stdout)
    {
        var r = Result(stdout, "speed.mjs");
        var text = Line(stdout, "text: ") is { } quoted ? JsonSerializer.Deserialize<string>(quoted) ?? "" : "";
        return new LlamaCppSpeed(Int(r, "promptTokens"), Int(r, "nTokens"), Int(r, "threads"),
            new LlamaCppRate(Number(r, "promptTps"), Tps(r["llamaCpp"]?["prompt"])),
            new LlamaCppRate(Number(r, "decodeTps"), Tps(r["llamaCpp"]?["decode"])), text);
    }

    public static LlamaCppBatch Batch(string stdout)
    {
        var r = Result(stdout, "batch.mjs");
        var sizes = r["batches"]?["decode"]?["sizes"] as JsonObject;
        var batches = sizes is null ? "not counted" : string.Join(", ", sizes.Select(kv => $"{kv.Value} × {kv.Key} tok"));
        return new LlamaCppBatch(Int(r, "sequences"), Int(r, "promptTokens"), Int(r, "nTokens"), Int(r, "threads"),
            new LlamaCppRate(Number(r, "decodeTps"), Tps(r["llamaCpp"]?["decode"])), batches);
    }

    public static LlamaCppPrefill Prefill(string stdout)
    {
        var r = Result(stdout, "prefill.mjs");
        var counters = r["llamaCppTps"]?["median"] is JsonValue v && v.TryGetValue<double>(out var median) && double.IsFinite(median) && median > 0 ? median : (double?)null;
        return new LlamaCppPrefill(Int(r, "promptTokens"), Int(r, "threads"), Int(r, "repeat"),
            new LlamaCppRate(r["wallTps"]?["median"]?.GetValue<double>() ?? throw Missing("prefill.mjs", "wallTps.median"), counters));
    }

    private static JsonObject Result(string stdout, string script)
    {
        var json = Line(stdout, "RESULT ") ?? throw new UserErrorException($"llama.cpp {script} printed no RESULT line: {stdout.Trim().Split('\n').LastOrDefault()}");
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new UserErrorException($"llama.cpp {script}: its RESULT is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new UserErrorException($"llama.cpp {script}: its RESULT line is not JSON ({e.Message}).");
        }
    }

    private static string? Line(string stdout, string prefix) => stdout.Split('\n')
        .Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];

    /// <summary>A counter's tok/s: JSON.stringify writes an infinite rate (0 ms, e.g. a one-token prompt) as null.</summary>
    private static double? Tps(JsonNode? counter) =>
        counter?["tps"] is JsonValue v && v.TryGetValue<double>(out var tps) && double.IsFinite(tps) && tps > 0 ? tps : null;

    private static double Number(JsonObject r, string name) =>
        r[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw Missing("RESULT", name);

    private static int Int(JsonObject r, string name) =>
        r[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw Missing("RESULT", name);

    private static UserErrorException Missing(string what, string name) =>
        new(string.Create(CultureInfo.InvariantCulture, $"llama.cpp {what} has no numeric {name}; do the scripts match this uld-bench?"));
}
