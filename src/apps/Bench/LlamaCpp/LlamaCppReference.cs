using System.Globalization;
using Uld.Contracts;

namespace Uld.Bench.LlamaCpp;

/// <summary>
/// llama.cpp on the weights LogitServer serves: a llama2.c checkpoint (<c>uld-trainer export-llama2c</c>) converted to
/// GGUF in the llama.cpp type matching the served weight format (fp32 → f32, int8 → q8_0, int4 → q4_0; the tools
/// keep the embedding table at q8_0 for both quantized types, as the project's quantized exports keep an 8-bit table),
/// then timed by the tools' scripts: single stream (speed.mjs), several sequences batched in one context
/// (batch.mjs) and prompt evaluation (prefill.mjs). The GGUF file is deleted on dispose.
/// </summary>
public sealed class LlamaCppReference : IDisposable
{
    /// <summary>Prompt of the decode runs (BOS + story text, as the tools build it): at least two tokens, so llama.cpp counts it as prompt eval.</summary>
    public const int DecodePromptTokens = 16;

    private readonly LlamaCppTools _tools;

    private LlamaCppReference(LlamaCppTools tools, string checkpoint, string format, string gguf, int contextLength)
    {
        _tools = tools;
        Checkpoint = checkpoint;
        Format = format;
        GgufPath = gguf;
        ContextLength = contextLength;
    }

    public string Checkpoint { get; }
    /// <summary>The project's weight format this stands beside (fp32, int8, int4).</summary>
    public string Format { get; }
    public string GgufType => TypeFor(Format);
    public string GgufPath { get; }
    /// <summary>The model's context length (llama2.c's seq_len): longer prompts are not run.</summary>
    public int ContextLength { get; }

    /// <summary>llama.cpp's tensor type for a project weight format.</summary>
    public static string TypeFor(string format) => format switch
    {
        "fp32" => "f32",
        "int8" => "q8_0",
        "int4" => "q4_0",
        _ => throw new UserErrorException($"llama.cpp reference: no GGUF type for weight format \"{format}\" (fp32, int8, int4)."),
    };

    /// <summary>Converts <paramref name="checkpoint"/> (with its llama2.c tokenizer) into <paramref name="gguf"/>, written whole or not at all.</summary>
    public static LlamaCppReference Convert(LlamaCppTools tools, string checkpoint, string tokenizer, string format, string gguf)
    {
        foreach (var file in new[] { checkpoint, tokenizer })
            if (!File.Exists(file)) throw new UserErrorException($"llama.cpp reference: {file} does not exist.");
        var type = TypeFor(format);
        var contextLength = Llama2cContextLength(checkpoint);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(gguf))!);
        var temp = $"{gguf}.tmp-{Guid.NewGuid():N}";
        try
        {
            tools.RunScript("llama2c-to-gguf.mjs", [checkpoint, tokenizer, temp, "--type", type]);
            File.Move(temp, gguf, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return new LlamaCppReference(tools, checkpoint, format, gguf, contextLength);
    }

    /// <summary>One stream: a <paramref name="promptTokens"/>-token prompt, then exactly <paramref name="tokens"/> greedy tokens.</summary>
    public LlamaCppSpeed Speed(int promptTokens, int tokens, int threads) =>
        LlamaCppResults.Speed(_tools.RunScript("speed.mjs", [GgufPath, I(promptTokens), I(tokens), I(threads)]));

    /// <summary><paramref name="sequences"/> sequences in one context, each a prompt then exactly <paramref name="tokens"/> greedy tokens, in lock-step.</summary>
    public LlamaCppBatch Batch(int promptTokens, int tokens, int threads, int sequences) =>
        LlamaCppResults.Batch(_tools.RunScript("batch.mjs", [GgufPath, I(promptTokens), I(tokens), I(threads), I(sequences)]));

    /// <summary>Prompt evaluation of a <paramref name="promptTokens"/>-token prompt (it and the one sampled token must fit the context).</summary>
    public LlamaCppPrefill Prefill(int promptTokens, int threads, int runs)
    {
        if (!Fits(promptTokens)) throw new UserErrorException($"llama.cpp reference: a {promptTokens}-token prompt does not fit the model's context of {ContextLength}.");
        return LlamaCppResults.Prefill(_tools.RunScript("prefill.mjs", [GgufPath, I(promptTokens), I(threads), "--repeat", I(runs)]));
    }

    /// <summary>Whether a prompt of <paramref name="promptTokens"/> and one generated token fit the model's context.</summary>
    public bool Fits(int promptTokens) => promptTokens + 1 <= ContextLength;

    /// <summary>Which llama.cpp ran, and how.</summary>
    public string Engine(int threads) =>
        $"llama.cpp (npm node-llama-cpp {_tools.PackageVersion}, its prebuilt CPU build, Node.js {_tools.NodeVersion}, {threads} thread{(threads == 1 ? "" : "s")})";

    public string Description(int threads) => $"{Engine(threads)} on {Path.GetFileName(Checkpoint)} as GGUF {GgufType}";

    public void Dispose() => File.Delete(GgufPath);

    /// <summary>seq_len, the last of the seven int32 of a llama2.c v0 header.</summary>
    private static int Llama2cContextLength(string checkpoint)
    {
        using var reader = new BinaryReader(File.OpenRead(checkpoint));
        if (reader.BaseStream.Length < 7 * sizeof(int)) throw new UserErrorException($"llama.cpp reference: {checkpoint} is too short for a llama2.c header.");
        reader.BaseStream.Position = 6 * sizeof(int);
        var seqLen = reader.ReadInt32();
        return seqLen > 0 ? seqLen : throw new UserErrorException($"llama.cpp reference: {checkpoint} has seq_len {seqLen}; not a llama2.c v0 checkpoint.");
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
