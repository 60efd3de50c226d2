using Uld.Bench.Processes;
using Uld.Tests.Support;

namespace Uld.Tests.Bench;

/// <summary>
/// <c>uld-bench serve</c> end to end, as an operator runs it (its Release build, a real LogitServer child): on stories260K
/// it exports the base with uld-trainer, converts it for llama.cpp and writes the llama.cpp rows beside LogitServer's.
/// </summary>
[Trait(Category.Name, Category.Slow)]
public sealed class ServeWithLlamaCppTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [NodeFact]
    public void Serve_writes_llama_cpp_ratios_for_one_stream_batched_sequences_and_prefill()
    {
        var run = ChildCommand.Execute("dotnet", [AppBuilds.Bench, "serve", "--base", Stories260KModels.BaseDirectory, "--assistant", Stories260KModels.AssistantDirectory,
            "--tokens", "8", "--rounds", "1", "--streams", "1", "2", "--llamacpp", NodeJs.LlamaCppTools, "--llamacpp-threads", "1", "--results", _temp["results"]],
            timeout: TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);

        var report = File.ReadAllText(Path.Combine(_temp["results"], "serve.md"));
        var section = report[report.IndexOf("## llama.cpp on the same weights", StringComparison.Ordinal)..];
        Assert.Contains("on base.bin as GGUF f32", section); // exported from the served base, fp32 weights
        Assert.Contains("1 thread)", section);
        Assert.Matches(@"\| decode, 1 stream \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \| [0-9.]+× \|", section);
        Assert.Matches(@"\| decode, 2 streams vs 2 sequences \(aggregate; llama_decode: 7 × 2 tok\) \| [0-9.]+ \|", section);
        Assert.Matches(@"\| prefill, 256-token prompt \| ([0-9.]+|n/a) \| – \| [0-9.]+ \| [0-9.]+ \|", section);
        Assert.Contains("The 2000-token prefill is not run: the model's context is 512 tokens.", section);
        Assert.DoesNotContain("Rows missing", section);
    }
}
