using Uld.Cli;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;
using static TorchSharp.torch;

namespace Uld.Trainer.Cli;

/// <summary>
/// <c>bench forward</c>: ONNX Runtime vs TorchSharp forward latency on one model, batch 1 and 8, prefill and
/// single-token decode with a cache, measured interleaved in one run so that machine noise hits both alike. It stays in
/// the trainer because it needs TorchSharp in-process; every other benchmark is <c>uld-bench</c>'s.
/// </summary>
public static class BenchCommand
{
    private sealed record Row(string Phase, int Batch, double OrtMs, double TorchMs);

    public static Command Create()
    {
        var command = new Command("bench", "The benchmark that needs TorchSharp in-process (forward latency); the others are uld-bench's. Results go under bench/results/.");
        var modelDir = new Option<DirectoryInfo>("--model-dir", "-m") { Description = "model directory (e.g. an imported stories260K)", Required = true };
        var prompt = new Option<int>("--prompt-tokens") { Description = "prefill length", DefaultValueFactory = _ => 64 };
        var iterations = new Option<int>("--iterations") { Description = "timed iterations per cell", DefaultValueFactory = _ => 30 };
        var results = new Option<DirectoryInfo>("--results") { Description = "results directory", DefaultValueFactory = _ => new DirectoryInfo("bench/results") };
        var forward = new Command("forward", "ORT vs TorchSharp forward latency (prefill and decode, batch 1 and 8).") { modelDir, prompt, iterations, results };
        forward.SetAction(parse => CliErrors.Run(parse, () => Forward(parse.GetValue(modelDir)!.FullName, parse.GetValue(prompt),
            parse.GetValue(iterations), parse.GetValue(results)!.FullName)));
        command.Subcommands.Add(forward);
        return command;
    }

    private static int Forward(string modelDir, int promptTokens, int iterations, string resultsDir)
    {
        if (promptTokens <= 0 || iterations <= 0) throw new UserErrorException("--prompt-tokens and --iterations must be positive.");
        TorchRuntime.EnsureInitialized();
        var dir = ModelDirectory.Open(modelDir);
        using var torchModel = LlamaWeights.LoadDirectory(dir);
        using var ort = new OnnxCausalLm(dir.OnnxPath);
        var rows = new List<Row>();

        AnsiConsole.Progress().Start(ctx =>
        {
            var task = ctx.AddTask("benchmark", maxValue: 4);
            foreach (var batch in new[] { 1, 8 })
            {
                foreach (var phase in new[] { "prefill", "decode" })
                {
                    rows.Add(Measure(ort, torchModel, dir.Config.VocabSize, batch, promptTokens, phase == "decode", iterations));
                    task.Increment(1);
                }
            }
        });

        var table = new Table().AddColumns("phase", "batch", "tokens/step", "ORT ms (median)", "TorchSharp ms (median)", "TorchSharp / ORT");
        foreach (var r in rows)
        {
            var tokens = r.Phase == "prefill" ? r.Batch * promptTokens : r.Batch;
            table.AddRow(r.Phase, r.Batch.ToString(CultureInfo.InvariantCulture), tokens.ToString(CultureInfo.InvariantCulture),
                F(r.OrtMs), F(r.TorchMs), F(r.TorchMs / r.OrtMs) + "×");
        }
        AnsiConsole.Write(table);

        Directory.CreateDirectory(resultsDir);
        var md = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"# Forward latency: ONNX Runtime vs TorchSharp — {dir.Manifest.Name}")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:u}, {Environment.ProcessorCount} cores, prefill {promptTokens} tokens, decode 1 token after {promptTokens}, median of {iterations} interleaved runs.")
            .AppendLine()
            .AppendLine("| phase | batch | ORT ms | TorchSharp ms | TorchSharp / ORT |")
            .AppendLine("|---|---|---|---|---|");
        foreach (var r in rows)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Phase} | {r.Batch} | {F(r.OrtMs)} | {F(r.TorchMs)} | {F(r.TorchMs / r.OrtMs)}× |");
        var path = Path.Combine(resultsDir, "forward-latency.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.MarkupLineInterpolated($"results: {path}");
        return 0;
    }

    private static Row Measure(OnnxCausalLm ort, LlamaForCausalLM torchModel, int vocab, int batch, int promptTokens, bool decode, int iterations)
    {
        var random = new Random(1234);
        var prompt = Enumerable.Range(0, batch * promptTokens).Select(_ => (long)random.Next(3, vocab)).ToArray();
        var promptPositions = Enumerable.Range(0, batch).SelectMany(_ => Enumerable.Range(0, promptTokens).Select(p => (long)p)).ToArray();
        var next = Enumerable.Range(0, batch).Select(_ => (long)random.Next(3, vocab)).ToArray();
        var nextPositions = Enumerable.Repeat((long)promptTokens, batch).ToArray();

        // Decode cells time only the one-token step; the prefill that builds its cache runs outside the clock.
        using var ortEmpty = ort.EmptyCache(batch);
        using var ortPrefix = decode ? ort.Run(prompt, Ones(batch * promptTokens), promptPositions, batch, ortEmpty).Present : null;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var torchPrompt = tensor(prompt, [batch, promptTokens]);
        var torchPromptPositions = tensor(promptPositions, [batch, promptTokens]);
        var torchPromptMask = ones(batch, promptTokens, dtype: ScalarType.Int64);
        var torchPrefix = decode ? torchModel.Forward(torchPrompt, torchPromptMask, torchPromptPositions).Present : null;
        var torchNext = tensor(next, [batch, 1]);
        var torchNextPositions = tensor(nextPositions, [batch, 1]);
        var torchDecodeMask = ones(batch, promptTokens + 1, dtype: ScalarType.Int64);

        double RunOrt()
        {
            var sw = Stopwatch.StartNew();
            var step = decode
                ? ort.Run(next, Ones(batch * (promptTokens + 1)), nextPositions, batch, ortPrefix!)
                : ort.Run(prompt, Ones(batch * promptTokens), promptPositions, batch, ortEmpty);
            sw.Stop();
            step.Present.Dispose();
            return sw.Elapsed.TotalMilliseconds;
        }
        double RunTorch()
        {
            using var inner = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var (logits, _) = decode
                ? torchModel.Forward(torchNext, torchDecodeMask, torchNextPositions, torchPrefix)
                : torchModel.Forward(torchPrompt, torchPromptMask, torchPromptPositions);
            _ = logits.data<float>()[0]; // force the result to exist, as ORT's copy-out does
            sw.Stop();
            return sw.Elapsed.TotalMilliseconds;
        }

        for (var i = 0; i < 3; i++)
        {
            RunOrt();
            RunTorch();
        }
        var ortTimes = new List<double>();
        var torchTimes = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            ortTimes.Add(RunOrt());
            torchTimes.Add(RunTorch());
        }
        return new Row(decode ? "decode" : "prefill", batch, Median(ortTimes), Median(torchTimes));
    }

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();
    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
    private static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
}
