using Uld.Bench.LlamaCpp;
using Uld.Contracts;
using Uld.Tests.Support;

namespace Uld.Tests.Bench.LlamaCpp;

/// <summary>
/// How uld-bench reads the llama.cpp scripts' output (outputs recorded from the scripts on stories260K), and how the
/// benchmarks say why llama.cpp rows are missing. No Node.js needed.
/// </summary>
public sealed class LlamaCppResultsTests
{
    private const string SpeedOutput = """
        model: /tmp/s-f32.gguf (1.0 MiB, train ctx 512), threads 1, context 24, load 706 ms
        prompt eval: 16 tokens in 2.6 ms = 6094.1 tok/s (wall, incl. 1st sample); llama.cpp: 16 tokens in 1.4 ms = 11267.6 tok/s
        decode:      7 tokens in 4.3 ms = 1637.2 tok/s (wall); llama.cpp: 7 runs in 1.4 ms = 5109.5 tok/s
        text: " She loved to play \"outs\""
        RESULT {"model":"/tmp/s-f32.gguf","threads":1,"promptTokens":16,"nTokens":8,"variant":0,"promptMs":2.63,"promptTps":6094.13,"decodeMs":4.28,"decodeTps":1637.23,"llamaCpp":{"prompt":{"ms":1.42,"count":16,"tps":11267.605633802817},"decode":{"ms":1.37,"count":7,"tps":5109.48905109489}}}
        """;

    private const string BatchOutput = """
        decode:  2 × 7 tokens in 30.0 ms = 467.3 tok/s aggregate (wall), 233.6 tok/s per sequence; llama.cpp: 14 tokens in 2.8 ms = 5017.9 tok/s aggregate; llama_decode: 7 × 2 tok
        RESULT {"model":"/tmp/s-f32.gguf","threads":1,"sequences":2,"promptTokens":16,"nTokens":8,"mode":"lockstep","contextSize":256,"batchSize":512,"flashAttention":"auto","loadMs":1050.35,"promptMs":7.98,"promptTps":4007.78,"decodeMs":29.96,"decodeTps":467.28,"perSequenceTps":[233.64,233.64],"llamaCpp":{"prompt":{"ms":2.42,"count":32,"tps":13223.140495867769,"promptEval":{"ms":2.42,"count":32,"tps":13223.140495867769},"eval":null},"decode":{"ms":2.79,"count":14,"tps":5017.921146953405,"promptEval":{"ms":2.79,"count":14,"tps":5017.921146953405},"eval":null}},"batches":{"prompt":{"calls":1,"tokens":32,"sizes":{"32":1}},"decode":{"calls":7,"tokens":14,"sizes":{"1":1,"2":6}}}}
        """;

    private const string PrefillOutput = """
        RESULT {"model":"/tmp/s-f32.gguf","threads":1,"promptTokens":64,"variant":0,"repeat":2,"batchSize":65,"loadMs":1316.33,"llamaCppTps":{"best":22068.97,"median":15897.7},"wallTps":{"best":7638.72,"median":6922.66},"runs":[]}
        """;

    [Fact]
    public void Speed_reads_both_phases_two_ways_and_the_text()
    {
        var speed = LlamaCppResults.Speed(SpeedOutput);
        Assert.Equal((16, 8, 1), (speed.PromptTokens, speed.Tokens, speed.Threads));
        Assert.Equal(new LlamaCppRate(6094.13, 11267.605633802817), speed.Prompt);
        Assert.Equal(new LlamaCppRate(1637.23, 5109.48905109489), speed.Decode);
        Assert.Equal(5109.48905109489, speed.Decode.Reference);
        Assert.Equal(" She loved to play \"outs\"", speed.Text);
    }

    [Fact]
    public void A_counter_llama_cpp_left_empty_falls_back_to_the_wall_clock()
    {
        // A one-token prompt: 0 ms of "prompt eval", whose infinite rate JSON.stringify writes as null.
        var speed = LlamaCppResults.Speed(SpeedOutput.Replace("\"tps\":11267.605633802817", "\"tps\":null", StringComparison.Ordinal));
        Assert.Null(speed.Prompt.Counters);
        Assert.Equal(6094.13, speed.Prompt.Reference);
    }

    [Fact]
    public void Batch_reads_the_aggregate_and_the_llama_decode_sizes()
    {
        var batch = LlamaCppResults.Batch(BatchOutput);
        Assert.Equal((2, 16, 8, 1), (batch.Sequences, batch.PromptTokens, batch.Tokens, batch.Threads));
        Assert.Equal(new LlamaCppRate(467.28, 5017.921146953405), batch.Decode);
        Assert.Equal("1 × 1 tok, 6 × 2 tok", batch.DecodeBatches);
    }

    [Fact]
    public void Prefill_reads_the_medians()
    {
        var prefill = LlamaCppResults.Prefill(PrefillOutput);
        Assert.Equal((64, 1, 2), (prefill.PromptTokens, prefill.Threads, prefill.Runs));
        Assert.Equal(new LlamaCppRate(6922.66, 15897.7), prefill.Rate);
    }

    [Theory]
    [InlineData("model: x\ndecode: 7 tokens\n", "printed no RESULT line")]
    [InlineData("RESULT {\"threads\":1,", "is not JSON")]
    [InlineData("RESULT [1, 2]", "not a JSON object")]
    [InlineData("RESULT {\"threads\":1,\"promptTokens\":16,\"nTokens\":8,\"promptTps\":1.5}", "no numeric decodeTps")]
    public void Output_that_is_not_a_result_is_one_clear_error(string stdout, string message)
    {
        var error = Assert.Throws<UserErrorException>(() => LlamaCppResults.Speed(stdout));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("fp32", "f32")]
    [InlineData("int8", "q8_0")]
    [InlineData("int4", "q4_0")]
    public void Each_weight_format_maps_to_its_llama_cpp_type(string format, string type) => Assert.Equal(type, LlamaCppReference.TypeFor(format));

    [Fact]
    public void A_missing_tools_directory_skips_the_rows_saying_where_it_looked()
    {
        using var temp = new TempDirectory();
        var missing = temp["no-tools"];
        using var side = LlamaCppSide.ForModel(missing, temp["no-model"], null, temp["uld-trainer.dll"], _ => { });
        Assert.Null(side.Reference);
        Assert.Contains(missing, side.SkipReason);
        Assert.Contains("does not exist", side.SkipReason);

        var rows = new LlamaCppServeRows(side, threads: 2, tokens: 16, concurrency: [1, 4]);
        rows.MeasureRound(_ => Assert.Fail("nothing is measured without tools"));
        var markdown = rows.Markdown(_ => 1, _ => 1, rounds: 1);
        Assert.Contains($"Not measured: {side.SkipReason}", markdown);
        Assert.DoesNotContain("| decode", markdown);
    }

    [Fact]
    public void A_tools_directory_without_the_scripts_is_named_in_the_error()
    {
        using var temp = new TempDirectory();
        var error = Assert.Throws<UserErrorException>(() => LlamaCppTools.Open(temp.Path));
        Assert.Contains("has no llama2c-to-gguf.mjs", error.Message);
    }
}
