using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Bench.LlamaCpp;
using Uld.Bench.Processes;
using Uld.Contracts;
using Uld.Contracts.Models;

namespace Uld.Bench;

/// <summary>A model shape to measure: a Hugging Face config.json and the tokenizer folder its random-weight model gets.</summary>
public sealed record ScaleShape(string Name, string Config, string Tokenizer)
{
    /// <summary>Parses <c>NAME=CONFIG.json:TOKENIZER_DIR</c>.</summary>
    public static ScaleShape Parse(string spec)
    {
        var (equals, colon) = (spec.IndexOf('='), spec.LastIndexOf(':'));
        if (equals <= 0 || colon < equals + 2 || colon == spec.Length - 1)
            throw new UserErrorException($"--shape \"{spec}\": expected NAME=CONFIG.json:TOKENIZER_DIR, e.g. llama-3.2-1b=bench/configs/llama-3.2-1b.json:../shared/tokenizers/llama3.");
        var shape = new ScaleShape(spec[..equals], spec[(equals + 1)..colon], spec[(colon + 1)..]);
        if (!File.Exists(shape.Config)) throw new UserErrorException($"--shape {shape.Name}: {shape.Config} does not exist.");
        if (!Directory.Exists(shape.Tokenizer)) throw new UserErrorException($"--shape {shape.Name}: tokenizer folder {shape.Tokenizer} does not exist.");
        return shape;
    }
}

/// <summary>What <c>uld-bench scale</c> runs; see <see cref="ScaleBenchmark"/>.</summary>
public sealed record ScaleOptions
{
    public required string TrainerDll { get; init; }
    public required string ServerDll { get; init; }
    public required IReadOnlyList<ScaleShape> Shapes { get; init; }
    /// <summary>Weight formats written (fp32 always) and served.</summary>
    public IReadOnlyList<string> Formats { get; init; } = ["fp32", "int8", "int4"];
    /// <summary>ULD assistants served beside the plain base: the base's first K layers.</summary>
    public IReadOnlyList<int> AssistantLayers { get; init; } = [2, 4];
    /// <summary>Tokens per single-stream decode measurement (and per llama2.c run).</summary>
    public int DecodeTokens { get; init; } = 32;
    public int PrefillTokens { get; init; } = 256;
    public int Streams { get; init; } = 8;
    /// <summary>The long prompt of the llama.cpp comparison, on shapes whose context holds it.</summary>
    public int LongPrefillTokens { get; init; } = 2000;
    /// <summary>The shape llama2.c's run.c is measured on (a Llama-2-tokenizer shape: llama2.c's tokenizer is SentencePiece).</summary>
    public string? Llama2cShape { get; init; }
    /// <summary>The llama.cpp tools directory; null leaves llama.cpp out.</summary>
    public string? LlamaCppDirectory { get; init; } = LlamaCppTools.DefaultDirectory;
    /// <summary>Threads of the outside references (run.c, llama.cpp).</summary>
    public int ReferenceThreads { get; init; } = 2;
    public required string WorkDir { get; init; }
    public required string ResultsDir { get; init; }
}

/// <summary>
/// <c>uld-bench scale</c>: model size against memory and speed, for random-weight models of real shapes. Per shape, every
/// step is its own uld-trainer process (so its peak memory is its own): <c>init</c> (safetensors + fp32 ONNX, checked
/// against TorchSharp), <c>export-onnx</c> again, <c>package --weights int8|int4</c>, <c>truncate -k K</c> (the ULD
/// assistants, packaged in each quantized format too). Then, per weight format, one uld-logitserver serves the plain base and a ULD deployment per K, all
/// sharing the base's session: its peak and current RSS, prefill time, single-stream decode and N-stream throughput,
/// one deployment after the other in the same server. llama2.c's run.c on the same fp32 weights is the outside reference,
/// and llama.cpp on the same weights (GGUF of the matching type) runs right after each format's server.
/// </summary>
public static class ScaleBenchmark
{
    private sealed record WriteRow(string Shape, long Parameters, ChildRun Init, ChildRun Export, long Fp32Bytes,
        IReadOnlyDictionary<string, (ChildRun Run, long Bytes, double Drift)> Packages);

    /// <summary>One deployment's figures; <see cref="LongPrefillMs"/> only for <c>plain</c>, when llama.cpp is compared and the context holds the long prompt.</summary>
    private sealed record ServeRow(string Shape, string Format, string Deployment, long PeakBytes, long AfterBytes, long BarBytes, double PrefillMs,
        double DecodeTokensPerSecond, double StreamsTokensPerSecond, double? LongPrefillMs);

    public static async Task<int> RunAsync(ScaleOptions o)
    {
        foreach (var f in o.Formats)
            if (f is not ("fp32" or "int8" or "int4")) throw new UserErrorException($"--format {f}: expected fp32, int8 or int4.");
        if (o.AssistantLayers.Any(k => k <= 0)) throw new UserErrorException("--assistant-layers must be positive.");
        if (o.Llama2cShape is { } l && o.Shapes.All(s => s.Name != l)) throw new UserErrorException($"--llama2c {l} is not one of the --shape names.");
        Directory.CreateDirectory(o.WorkDir);

        var writes = new List<WriteRow>();
        var serving = new List<ServeRow>();
        (double RunC, double Plain)? reference = null;
        var started = DateTime.UtcNow;
        var llamaCpp = new LlamaCppScaleRows(o.ReferenceThreads, o.DecodeTokens, o.Streams, o.PrefillTokens, o.LongPrefillTokens);
        var tools = OpenLlamaCpp(o, llamaCpp);
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).StartAsync(async ctx =>
        {
            var quantized = o.Formats.Count(f => f != "fp32");
            var steps = o.Shapes.Count * (2 + quantized + o.AssistantLayers.Count * (1 + quantized) + o.Formats.Count * (tools is null ? 1 : 2));
            var task = ctx.AddTask("scale", maxValue: steps);
            foreach (var shape in o.Shapes)
            {
                var dir = Path.Combine(o.WorkDir, shape.Name);
                ChildRun Trainer(string step, params string[] args)
                {
                    task.Description = $"{shape.Name}: {step}";
                    var run = ChildCommand.Run(o.TrainerDll, args);
                    task.Increment(1);
                    return run;
                }

                var init = Trainer("init", "init", "--config", shape.Config, "--tokenizer", shape.Tokenizer, "-o", dir, "--force");
                var export = Trainer("export-onnx", "export-onnx", "-m", dir);
                var packages = new Dictionary<string, (ChildRun, long, double)>();
                foreach (var format in o.Formats.Where(f => f != "fp32"))
                {
                    var run = Trainer($"package {format}", "package", "-m", dir, "-o", $"{dir}-{format}", "--weights", format, "--force");
                    packages[format] = (run, OnnxBytes($"{dir}-{format}"), ExportDrift($"{dir}-{format}"));
                }
                foreach (var k in o.AssistantLayers)
                {
                    Trainer($"truncate -k {k}", "truncate", "--base", dir, "-k", k.ToString(CultureInfo.InvariantCulture), "-o", $"{dir}-k{k}", "--force");
                    // A quantized deployment quantizes its pair alike: the assistant's logits are subtracted from the base's.
                    foreach (var format in o.Formats.Where(f => f != "fp32"))
                        Trainer($"package k{k} {format}", "package", "-m", $"{dir}-k{k}", "-o", $"{dir}-k{k}-{format}", "--weights", format, "--force");
                }
                writes.Add(new WriteRow(shape.Name, new FileInfo(Path.Combine(dir, "model.safetensors")).Length / sizeof(float), init, export, OnnxBytes(dir), packages));

                // The outside references run on the fp32 weights as a llama2.c checkpoint; a shape it cannot hold has no llama.cpp rows.
                (string Checkpoint, string Tokenizer)? llama2c = null;
                if (tools is not null || shape.Name == o.Llama2cShape)
                {
                    task.Description = $"{shape.Name}: export-llama2c";
                    try
                    {
                        llama2c = Llama2cExport.Write(o.TrainerDll, dir, o.WorkDir, shape.Name);
                    }
                    catch (UserErrorException e) when (shape.Name != o.Llama2cShape)
                    {
                        llamaCpp.Skip(shape.Name, e.Message);
                    }
                }

                foreach (var format in o.Formats)
                {
                    task.Description = $"{shape.Name}: serving {format}";
                    var suffix = format == "fp32" ? "" : $"-{format}";
                    var rows = await ServeAsync(o, shape.Name, format, dir + suffix, o.AssistantLayers.Select(k => (k, $"{dir}-k{k}{suffix}")).ToList(),
                        longPrefill: tools is not null && llama2c is not null);
                    serving.AddRange(rows);
                    task.Increment(1);
                    if (tools is null) continue;
                    if (llama2c is { } files) MeasureLlamaCpp(o, tools, llamaCpp, shape.Name, format, files.Checkpoint, files.Tokenizer, rows.Single(r => r.Deployment == "plain"), s => task.Description = Markup.Escape(s));
                    task.Increment(1);
                }

                if (shape.Name == o.Llama2cShape && llama2c is { } runCFiles)
                {
                    task.Description = $"{shape.Name}: llama2.c run.c";
                    using var runC = Llama2cReference.Build(runCFiles.Checkpoint, runCFiles.Tokenizer);
                    var plain = serving.Single(r => r.Shape == shape.Name && r.Format == "fp32" && r.Deployment == "plain").DecodeTokensPerSecond;
                    reference = (runC.TokensPerSecond("Once upon a time", o.DecodeTokens + 4, o.ReferenceThreads), plain);
                }
            }
        });

        var markdown = Report(o, writes, serving, reference, started) + Environment.NewLine + llamaCpp.Markdown();
        Directory.CreateDirectory(o.ResultsDir);
        var path = Path.Combine(o.ResultsDir, "scale.md");
        AtomicFile.WriteAllText(path, markdown);
        AnsiConsole.WriteLine(markdown);
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
        return 0;
    }

    /// <summary>The llama.cpp tools, or null with the reason recorded (no Node.js, --no-llamacpp, …).</summary>
    private static LlamaCppTools? OpenLlamaCpp(ScaleOptions o, LlamaCppScaleRows rows)
    {
        if (o.LlamaCppDirectory is null)
        {
            rows.Skip("every shape", "--no-llamacpp.");
            return null;
        }
        try
        {
            return LlamaCppTools.Open(o.LlamaCppDirectory, s => AnsiConsole.MarkupLineInterpolated($"[grey]{s}[/]"));
        }
        catch (UserErrorException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]llama.cpp rows skipped:[/] {e.Message}");
            rows.Skip("every shape", e.Message);
            return null;
        }
    }

    /// <summary>llama.cpp on the shape's weights in the GGUF type of <paramref name="format"/>, beside that format's <c>plain</c> figures.</summary>
    private static void MeasureLlamaCpp(ScaleOptions o, LlamaCppTools tools, LlamaCppScaleRows rows, string shape, string format, string checkpoint,
        string tokenizer, ServeRow plain, Action<string> status)
    {
        try
        {
            status($"{shape}: llama.cpp, converting to GGUF {LlamaCppReference.TypeFor(format)}");
            using var reference = LlamaCppReference.Convert(tools, checkpoint, tokenizer, format,
                Path.Combine(o.WorkDir, $"{shape}-{LlamaCppReference.TypeFor(format)}.gguf"));
            var figures = new LogitServerFigures(plain.DecodeTokensPerSecond, plain.StreamsTokensPerSecond, PrefillProbe.TokensPerSecond(o.PrefillTokens, plain.PrefillMs),
                plain.LongPrefillMs is { } ms ? PrefillProbe.TokensPerSecond(o.LongPrefillTokens, ms) : null);
            rows.Measure(reference, shape, figures, status);
        }
        catch (UserErrorException e)
        {
            rows.Skip($"{shape} {format}", e.Message);
        }
    }

    /// <summary>
    /// One server for a format: the plain base and a ULD deployment per assistant, measured one after the other;
    /// with <paramref name="longPrefill"/> also the plain base's prefill of the long prompt, where the context holds it.
    /// </summary>
    private static async Task<IReadOnlyList<ServeRow>> ServeAsync(ScaleOptions o, string shape, string format, string baseDir,
        IReadOnlyList<(int K, string Dir)> assistants, bool longPrefill)
    {
        var settings = new Dictionary<string, string>
        {
            ["LogitServer:Deployments:0:Name"] = "plain",
            ["LogitServer:Deployments:0:Kind"] = "Plain",
            ["LogitServer:Deployments:0:Model"] = baseDir,
        };
        var deployments = new List<string> { "plain" };
        foreach (var (k, dir) in assistants)
        {
            var i = deployments.Count;
            deployments.Add($"uld-k{k}");
            settings[$"LogitServer:Deployments:{i}:Name"] = $"uld-k{k}";
            settings[$"LogitServer:Deployments:{i}:Kind"] = "Uld";
            settings[$"LogitServer:Deployments:{i}:Base"] = baseDir;
            settings[$"LogitServer:Deployments:{i}:Assistant"] = dir;
        }
        await using var server = await ChildServer.StartAsync(o.ServerDll, settings);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(30) };

        var config = ModelDirectory.Open(baseDir, verifyHashes: false).Config;
        var shortPrompt = new[] { 1, 450, 3309, 975 };
        var longPrompt = PrefillProbe.Prompt(o.PrefillTokens, config.VocabSize);
        var measureLong = longPrefill && o.LongPrefillTokens + 1 <= config.MaxPositionEmbeddings;
        foreach (var d in deployments) await LoadClient.CompleteAsync(http, d, shortPrompt, 4); // warm-up: first runs allocate and JIT
        var measured = new List<(string Deployment, double PrefillMs, double Decode, double Streams, double? LongPrefillMs)>();
        foreach (var d in deployments)
        {
            // One new token costs prompt + one step; subtracting the short prompt's leaves the long prompt's prefill.
            var one = await LoadClient.CompleteAsync(http, d, shortPrompt, 1);
            var prefill = await LoadClient.CompleteAsync(http, d, longPrompt, 1);
            var decode = await LoadClient.CompleteAsync(http, d, shortPrompt, o.DecodeTokens + 1);
            var clock = Stopwatch.StartNew();
            var streams = await Task.WhenAll(Enumerable.Range(0, o.Streams).Select(s => LoadClient.CompleteAsync(http, d, [1, 400 + s, 3309, 975], o.DecodeTokens + 1)));
            var wall = clock.Elapsed.TotalSeconds;
            double? longMs = d == "plain" && measureLong
                ? (await LoadClient.CompleteAsync(http, d, PrefillProbe.Prompt(o.LongPrefillTokens, config.VocabSize), 1)).Seconds * 1000 - one.Seconds * 1000
                : null;
            measured.Add((d, (prefill.Seconds - one.Seconds) * 1000, (decode.Tokens - 1) / (decode.Seconds - one.Seconds), streams.Sum(s => s.Tokens) / wall, longMs));
        }
        var (peak, after) = (server.PeakBytes, server.CurrentBytes);
        // The serving bar: 1.3× the ONNX weights the server holds (the base once, every assistant) + 300 MB.
        var bar = (long)(1.3 * (OnnxBytes(baseDir) + assistants.Sum(a => OnnxBytes(a.Dir)))) + 300_000_000L;
        return measured.Select(m => new ServeRow(shape, format, m.Deployment, peak, after, bar, m.PrefillMs, m.Decode, m.Streams, m.LongPrefillMs)).ToList();
    }

    /// <summary>The package's max |logit drift| over the largest |logit| of the float32 model, as its manifest records it.</summary>
    private static double ExportDrift(string modelDir) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(modelDir, "manifest.json")))!["source"]!["onnx_export"]!["relative_diff_vs_torchsharp"]!.GetValue<double>();

    private static long OnnxBytes(string modelDir) =>
        new DirectoryInfo(Path.Combine(modelDir, "onnx")).EnumerateFiles().Sum(f => f.Length);

    private static string Report(ScaleOptions o, IReadOnlyList<WriteRow> writes, IReadOnlyList<ServeRow> serving, (double RunC, double Plain)? reference, DateTime started)
    {
        static string GiB(long bytes) => (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB";
        static string GB(long bytes) => (bytes / 1e9).ToString("F2", CultureInfo.InvariantCulture) + " GB";
        static string S(ChildRun r) => r.Seconds.ToString("F0", CultureInfo.InvariantCulture);
        static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var quantized = o.Formats.Where(f => f != "fp32").ToList();
        var md = new StringBuilder();
        md.AppendLine("# Scale: random-weight models of real shapes").AppendLine();
        md.Append("`uld-bench scale");
        foreach (var s in o.Shapes) md.Append(CultureInfo.InvariantCulture, $" --shape {s.Name}={s.Config}:{s.Tokenizer}");
        md.Append(CultureInfo.InvariantCulture, $" --format {string.Join(' ', o.Formats)} --assistant-layers {string.Join(' ', o.AssistantLayers)}");
        if (o.Llama2cShape is not null) md.Append(CultureInfo.InvariantCulture, $" --llama2c {o.Llama2cShape}");
        md.AppendLine(CultureInfo.InvariantCulture, $"` on {Environment.ProcessorCount} cores, {started:yyyy-MM-dd HH:mm}Z, load average at start {LoadAverage()}.");
        md.AppendLine("Peak RSS is the process's VmHWM (1 GiB = 2^30 bytes); ONNX sizes in GB (10^9 bytes); times are wall clock. Logit drift is the");
        md.AppendLine("package's max |logit − fp32 logit| over the largest |fp32 logit| on the export's 2×12-token probe (random weights: the worst case).").AppendLine();

        md.AppendLine("## Writing models").AppendLine();
        md.Append("| shape | parameters | init s | init peak RSS | export-onnx s | export peak RSS | bar (fp32 + 1.5 GB) | ONNX fp32 |");
        foreach (var f in quantized) md.Append(CultureInfo.InvariantCulture, $" package {f} s | package {f} peak RSS | ONNX {f} | {f} logit drift |");
        md.AppendLine().Append("|---|---|---|---|---|---|---|---|").AppendLine(string.Concat(quantized.Select(_ => "---|---|---|---|")));
        foreach (var w in writes)
        {
            var bar = w.Parameters * sizeof(float) + 1_500_000_000L;
            md.Append(CultureInfo.InvariantCulture, $"| {w.Shape} | {w.Parameters / 1e6:F0}M | {S(w.Init)} | {GiB(w.Init.PeakBytes)} | {S(w.Export)} | {GiB(w.Export.PeakBytes)} | {GiB(bar)} | {GB(w.Fp32Bytes)} |");
            foreach (var f in quantized) md.Append(CultureInfo.InvariantCulture, $" {S(w.Packages[f].Run)} | {GiB(w.Packages[f].Run.PeakBytes)} | {GB(w.Packages[f].Bytes)} | {w.Packages[f].Drift:F3} |");
            md.AppendLine();
        }

        md.AppendLine().AppendLine("## Serving").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"One uld-logitserver per shape and format serving `plain` (the base) and `uld-kK` (the base + its first K layers as the assistant, in the base's weight format, α = 1), all sharing the base's session; RSS is the server's after all requests. Prefill = a {o.PrefillTokens}-token prompt minus a 4-token one (1 new token each); decode = {o.DecodeTokens} tokens, 1 stream; {o.Streams} streams = {o.Streams} concurrent {o.DecodeTokens + 1}-token completions, tokens over wall time. Ratios are to `plain` of the same server.").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| shape | weights | server peak RSS | RSS after | bar (1.3 × ONNX + 300 MB) | deployment | prefill {o.PrefillTokens} ms | decode tok/s, 1 stream | × plain | tok/s, {o.Streams} streams | × plain |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in serving)
        {
            var plain = serving.Single(p => p.Shape == r.Shape && p.Format == r.Format && p.Deployment == "plain");
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Shape} | {r.Format} | {GiB(r.PeakBytes)} | {GiB(r.AfterBytes)} | {GiB(r.BarBytes)} | {r.Deployment} | {F(r.PrefillMs, "F0")} | {F(r.DecodeTokensPerSecond, "F1")} | {F(r.DecodeTokensPerSecond / plain.DecodeTokensPerSecond, "F2")}× | {F(r.StreamsTokensPerSecond, "F1")} | {F(r.StreamsTokensPerSecond / plain.StreamsTokensPerSecond, "F2")}× |");
        }

        if (reference is { } r2)
        {
            md.AppendLine().AppendLine("## Outside reference").AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"llama2.c `run.c` (bench/reference/llama2c, gcc -O3 -march=native -fopenmp, OMP_NUM_THREADS={o.ReferenceThreads}) on the {o.Llama2cShape} fp32 weights (`uld-trainer export-llama2c`), {o.DecodeTokens + 4} steps, its own \"achieved tok/s\": **{F(r2.RunC, "F1")} tok/s**; LogitServer `plain` fp32, 1 stream, over HTTP: **{F(r2.Plain, "F1")} tok/s = {F(r2.Plain / r2.RunC, "F2")}×** (bar ≥ 1.5×).");
        }
        return md.ToString();
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
