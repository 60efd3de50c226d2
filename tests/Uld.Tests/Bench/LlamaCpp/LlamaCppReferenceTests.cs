using Uld.Bench.LlamaCpp;
using Uld.Contracts;
using Uld.Tests.Support;

namespace Uld.Tests.Bench.LlamaCpp;

/// <summary>
/// llama.cpp through uld-bench's wrapper on stories260K: the llama2.c checkpoint converted to GGUF in each weight
/// format's type, timed by the tools' scripts, decodes the project's own greedy text (llama.cpp's f32 run equals
/// llama2.c's run.c, ../shared/tools/llamacpp/README.md, *What was validated*) at a positive speed. One thread: the
/// quantized texts are the tools' single-thread ones.
/// </summary>
public sealed class LlamaCppReferenceTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [NodeTheory]
    // f32 and q8_0 match llama2.c's greedy run well past this text; q4_0 (8-bit table) for its first 27 tokens.
    [InlineData("fp32", "f32", Stories260KFixture.ExpectedGreedyText)]
    [InlineData("int8", "q8_0", Stories260KFixture.ExpectedGreedyText)]
    [InlineData("int4", "q4_0", "Once upon a time, there was a little girl named Lily. She loved to play outside in the")]
    public void Stories260K_decodes_the_projects_greedy_text_in_the_formats_gguf_type(string format, string type, string expected)
    {
        using var reference = Convert(format);
        Assert.Equal(type, reference.GgufType);
        Assert.Equal(512, reference.ContextLength);
        Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(reference.GgufPath)[..4]);

        // A one-token prompt (BOS alone) is greedy decoding from BOS, as the project's own decode above; 32 tokens cover the text.
        var speed = reference.Speed(promptTokens: 1, tokens: 32, threads: 1);
        Assert.StartsWith(expected, speed.Text.TrimStart());
        Assert.Equal((1, 32, 1), (speed.PromptTokens, speed.Tokens, speed.Threads));
        Assert.True(speed.Decode.Wall > 0 && speed.Decode.Counters > 0, $"decode {speed.Decode}");
        Assert.Null(speed.Prompt.Counters); // llama.cpp files a one-token llama_decode under "eval", not "prompt eval"
    }

    [NodeFact]
    public void Sequences_are_batched_in_one_llama_decode_per_step_and_a_prompt_longer_than_the_context_is_refused()
    {
        using var reference = Convert("fp32");
        var batch = reference.Batch(promptTokens: 16, tokens: 8, threads: 1, sequences: 3);
        Assert.Equal("7 × 3 tok", batch.DecodeBatches);
        Assert.Equal(3, batch.Sequences);
        Assert.True(batch.Decode.Wall > 0 && batch.Decode.Counters > 0, $"decode {batch.Decode}");

        var prefill = reference.Prefill(promptTokens: 256, threads: 1, runs: 1);
        Assert.Equal((256, 1), (prefill.PromptTokens, prefill.Runs));
        Assert.True(prefill.Rate.Wall > 0 && prefill.Rate.Counters > 0, $"prefill {prefill.Rate}");

        Assert.False(reference.Fits(512));
        var error = Assert.Throws<UserErrorException>(() => reference.Prefill(2000, threads: 1, runs: 1));
        Assert.Contains("context of 512", error.Message);
    }

    private LlamaCppReference Convert(string format) => LlamaCppReference.Convert(LlamaCppTools.Open(NodeJs.LlamaCppTools),
        SharedPaths.Stories260KCheckpoint, SharedPaths.Stories260KTokenizer, format, _temp[$"stories260K-{format}.gguf"]);
}
