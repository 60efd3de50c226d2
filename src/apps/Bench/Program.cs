using System.CommandLine;
using Spectre.Console;
using Uld.Bench;
using Uld.Bench.ForgetRequests;
using Uld.Bench.LlamaCpp;
using Uld.Bench.Processes;
using Uld.Cli;
using Uld.Contracts;

// Every benchmark but forward latency (which needs TorchSharp in-process: `uld-trainer bench forward`) lives here. The
// apps under test run as child processes, found beside this output or in their Release build folders.
var serverDll = new Option<FileInfo>("--server-dll") { Description = "uld-logitserver.dll to run", DefaultValueFactory = _ => AppLocator.Default("LogitServer", "uld-logitserver") };
var gatewayDll = new Option<FileInfo>("--gateway-dll") { Description = "uld-gateway.dll to run", DefaultValueFactory = _ => AppLocator.Default("Gateway", "uld-gateway") };
var trainerDll = new Option<FileInfo>("--trainer-dll") { Description = "uld-trainer.dll to run", DefaultValueFactory = _ => AppLocator.Default("Trainer", "uld-trainer") };
var results = new Option<DirectoryInfo>("--results") { Description = "results directory", DefaultValueFactory = _ => new DirectoryInfo("bench/results") };

var baseDir = new Option<DirectoryInfo>("--base") { Description = "base model directory", Required = true };
var assistantDir = new Option<DirectoryInfo>("--assistant") { Description = "ULD assistant model directory", Required = true };
var fused = new Option<FileInfo?>("--fused") { Description = "fused ULD graph of the pair (uld-trainer fuse): also served and measured as \"uld-fused\"" };
var tokens = new Option<int>("--tokens") { Description = "tokens per stream", DefaultValueFactory = _ => 128 };
var streams = new Option<int[]>("--streams") { Description = "concurrency levels", DefaultValueFactory = _ => [1, 4, 16], AllowMultipleArgumentsPerToken = true };
var rounds = new Option<int>("--rounds") { Description = "interleaved rounds per cell", DefaultValueFactory = _ => 3 };
var llama2c = new Option<FileInfo?>("--llama2c") { Description = "llama2.c checkpoint of the base's weights: llama2.c's run.c on it is measured in the same run as the outside reference" };
var llama2cTokenizer = new Option<FileInfo?>("--llama2c-tokenizer") { Description = "llama2.c tokenizer .bin for --llama2c" };
var llamaCppDir = new Option<DirectoryInfo>("--llamacpp")
    { Description = "llama.cpp tools (node-llama-cpp scripts; npm packages installed on first use): llama.cpp on the same weights is measured in the same run", DefaultValueFactory = _ => new DirectoryInfo(LlamaCppTools.DefaultDirectory) };
var noLlamaCpp = new Option<bool>("--no-llamacpp") { Description = "leave out the llama.cpp rows" };
var llamaCppThreads = new Option<int?>("--llamacpp-threads")
    { Description = "llama.cpp's threads (default: every core, as LogitServer's sessions; those below 64 MiB of weights use one)" };
var kvCache = new Option<string?>("--kv-cache") { Description = "the server's LogitServer:KvCache: InPlace (a plain deployment on its model's serving graph, the default) or Concat (model.onnx)" };
var serve = new Command("serve", "Tokens/s and time to first token, plain vs ULD, at several concurrency levels, over loopback HTTP; llama.cpp and llama2.c on the same weights as references.")
    { baseDir, assistantDir, fused, tokens, streams, rounds, results, serverDll, trainerDll, llama2c, llama2cTokenizer, llamaCppDir, noLlamaCpp, llamaCppThreads, kvCache };
serve.SetAction((parse, _) => CliErrors.RunAsync(parse, async () =>
{
    var threads = parse.GetValue(llamaCppThreads) ?? Environment.ProcessorCount;
    if (threads <= 0) throw new UserErrorException("--llamacpp-threads must be positive.");
    (string Checkpoint, string Tokenizer)? checkpoint = parse.GetValue(llama2c) is { } c
        ? (c.FullName, parse.GetValue(llama2cTokenizer)?.FullName ?? throw new UserErrorException("--llama2c needs --llama2c-tokenizer."))
        : null;
    using var reference = checkpoint is { } files ? Llama2cReference.Build(files.Checkpoint, files.Tokenizer) : null;
    var serverPath = AppLocator.Require(parse.GetValue(serverDll)!, "LogitServer");
    var basePath = parse.GetValue(baseDir)!.FullName;
    using var llamaCpp = parse.GetValue(noLlamaCpp)
        ? LlamaCppSide.Skipped("--no-llamacpp.")
        : LlamaCppSide.ForModel(parse.GetValue(llamaCppDir)!.FullName, basePath, checkpoint, parse.GetValue(trainerDll)!.FullName, s => AnsiConsole.MarkupLineInterpolated($"[grey]{s}[/]"));
    if (llamaCpp.SkipReason is { } skipped) AnsiConsole.MarkupLineInterpolated($"[yellow]llama.cpp rows skipped:[/] {skipped}");
    return await ServeBenchmark.RunAsync(new ServeOptions
    {
        ServerDll = serverPath,
        BaseDir = basePath,
        AssistantDir = parse.GetValue(assistantDir)!.FullName,
        Fused = parse.GetValue(fused)?.FullName,
        Llama2c = reference,
        LlamaCpp = llamaCpp,
        LlamaCppThreads = threads,
        Tokens = parse.GetValue(tokens),
        Concurrency = parse.GetValue(streams)!,
        Rounds = parse.GetValue(rounds),
        ResultsDir = parse.GetValue(results)!.FullName,
        KvCache = parse.GetValue(kvCache),
    });
}));

var modelDir = new Option<DirectoryInfo>("--model") { Description = "model directory served by the LogitServer", Required = true };
var gatewayStreams = new Option<int>("--streams") { Description = "concurrent streams", DefaultValueFactory = _ => 16 };
var gatewayTokens = new Option<int>("--tokens") { Description = "tokens per stream", DefaultValueFactory = _ => 256 };
var gatewayRounds = new Option<int>("--rounds") { Description = "interleaved rounds", DefaultValueFactory = _ => 4 };
var latencyRequests = new Option<int>("--latency-requests") { Description = "sequential one-token requests per path", DefaultValueFactory = _ => 200 };
var gateway = new Command("gateway", "The gateway's overhead: the same load direct to LogitServer and through the Gateway, in one run.")
    { modelDir, gatewayStreams, gatewayTokens, gatewayRounds, latencyRequests, results, serverDll, gatewayDll };
gateway.SetAction((parse, _) => CliErrors.RunAsync(parse, () => GatewayBenchmark.RunAsync(AppLocator.Require(parse.GetValue(serverDll)!, "LogitServer"),
    AppLocator.Require(parse.GetValue(gatewayDll)!, "Gateway"), parse.GetValue(modelDir)!.FullName, parse.GetValue(gatewayStreams),
    parse.GetValue(gatewayTokens), parse.GetValue(gatewayRounds), parse.GetValue(latencyRequests), parse.GetValue(results)!.FullName)));

var trainBase = new Option<DirectoryInfo>("--base") { Description = "the model to unlearn from (model directory)", Required = true };
var data = new Option<DirectoryInfo>("--data") { Description = "TOFU directory (without --forget-file)", DefaultValueFactory = _ => new DirectoryInfo("../shared/data/tofu") };
var forget = new Option<string>("--forget") { Description = "forget set of data/tofu-mini.json (without --forget-file)", DefaultValueFactory = _ => "forget4" };
var forgetFile = new Option<FileInfo?>("--forget-file") { Description = "your forget data (JSON Lines), instead of the TOFU preset" };
var retainFile = new Option<FileInfo?>("--retain-file") { Description = "your retain data (JSON Lines), with --forget-file" };
var epochs = new Option<int>("--epochs") { Description = "epochs per run (the same for all)", DefaultValueFactory = _ => 3 };
var methods = new Option<string[]>("--method") { Description = "methods to compare", DefaultValueFactory = _ => ["uld", "npo+gd", "ga"], AllowMultipleArgumentsPerToken = true };
var trainLayers = new Option<int[]>("--layers") { Description = "ULD assistant depths K, one run each (default: the trainer's)", AllowMultipleArgumentsPerToken = true };
var trainRank = new Option<int>("--rank") { Description = "ULD LoRA rank", DefaultValueFactory = _ => 16 };
var recipes = new Option<string[]>("--recipe")
{
    Description = "METHOD=MODEL_DIR: the method's chosen configuration, a model it trained; its manifest's step count prices that recipe at the measured s/step",
    DefaultValueFactory = _ => ["uld=models/tofu-mini-uld", "npo+gd=models/tofu-mini-npo-gd"],
    AllowMultipleArgumentsPerToken = true,
};
var report = new Option<string>("--report") { Description = "results file name", DefaultValueFactory = _ => "train-cost.md" };
var train = new Command("train", "Unlearning cost: seconds per step, trainable parameters, peak memory (ULD per K vs NPO+GD vs GA), one uld-trainer process each.")
    { trainBase, data, forget, forgetFile, retainFile, epochs, methods, trainLayers, trainRank, recipes, report, results, trainerDll };
train.SetAction(parse => CliErrors.Run(parse, () => TrainCostBenchmark.Run(new TrainCostOptions
{
    TrainerDll = AppLocator.Require(parse.GetValue(trainerDll)!, "Trainer"),
    BaseDir = parse.GetValue(trainBase)!.FullName,
    DataArguments = parse.GetValue(forgetFile) is { } f
        ? ["--forget-file", f.FullName, .. parse.GetValue(retainFile) is { } r ? new[] { "--retain-file", r.FullName } : []]
        : ["--data", parse.GetValue(data)!.FullName, "--forget", parse.GetValue(forget)!],
    Epochs = parse.GetValue(epochs),
    Methods = parse.GetValue(methods)!,
    Layers = parse.GetValue(trainLayers) ?? [],
    Rank = parse.GetValue(trainRank),
    RecipeSteps = TrainCostBenchmark.RecipeSteps(parse.GetValue(recipes)!),
    ResultsDir = parse.GetValue(results)!.FullName,
    ReportFile = parse.GetValue(report)!,
})));

var shapes = new Option<string[]>("--shape") { Description = "NAME=CONFIG.json:TOKENIZER_DIR of a random-weight model to measure (repeat)", Required = true, AllowMultipleArgumentsPerToken = true };
var formats = new Option<string[]>("--format") { Description = "weight formats to write and serve", DefaultValueFactory = _ => ["fp32", "int8", "int4"], AllowMultipleArgumentsPerToken = true };
var assistantLayers = new Option<int[]>("--assistant-layers") { Description = "K of each ULD assistant (the base's first K layers)", DefaultValueFactory = _ => [2, 4], AllowMultipleArgumentsPerToken = true };
var decodeTokens = new Option<int>("--decode-tokens") { Description = "tokens per decode measurement", DefaultValueFactory = _ => 32 };
var scaleLlama2c = new Option<string?>("--llama2c") { Description = "shape (a Llama-2-tokenizer one) on which llama2.c's run.c is measured as the outside reference" };
var work = new Option<DirectoryInfo>("--work") { Description = "where the models are written (several GB per 1B shape)", DefaultValueFactory = _ => new DirectoryInfo("artifacts/scale") };
var scale = new Command("scale", "Model size against memory and speed: init/export/package time and peak RSS, ONNX sizes, server RSS, prefill and decode, plain vs ULD per K, for random-weight models of real shapes; llama.cpp on the same weights.")
    { shapes, formats, assistantLayers, decodeTokens, scaleLlama2c, llamaCppDir, noLlamaCpp, work, results, trainerDll, serverDll };
scale.SetAction((parse, _) => CliErrors.RunAsync(parse, () => ScaleBenchmark.RunAsync(new ScaleOptions
{
    TrainerDll = AppLocator.Require(parse.GetValue(trainerDll)!, "Trainer"),
    ServerDll = AppLocator.Require(parse.GetValue(serverDll)!, "LogitServer"),
    Shapes = parse.GetValue(shapes)!.Select(ScaleShape.Parse).ToList(),
    Formats = parse.GetValue(formats)!,
    AssistantLayers = parse.GetValue(assistantLayers)!,
    DecodeTokens = parse.GetValue(decodeTokens) is > 0 and var n ? n : throw new UserErrorException("--decode-tokens must be positive."),
    Llama2cShape = parse.GetValue(scaleLlama2c),
    LlamaCppDirectory = parse.GetValue(noLlamaCpp) ? null : parse.GetValue(llamaCppDir)!.FullName,
    WorkDir = parse.GetValue(work)!.FullName,
    ResultsDir = parse.GetValue(results)!.FullName,
})));

var bookSeed = new Option<int>("--seed") { Description = "the book's seed (the committed book: 1)", DefaultValueFactory = _ => 1 };
var bookOutput = new Option<DirectoryInfo>("--output", "-o") { Description = "directory for the book's parts (JSON Lines)", DefaultValueFactory = _ => new DirectoryInfo("data/books") };
var book = new Command("book", "Write the story book of bench/books.sh: forget / retain / holdout parts of stories a TinyStories model cannot know.") { bookSeed, bookOutput };
book.SetAction(parse => CliErrors.Run(parse, () =>
{
    Uld.Bench.Books.StoryBook.Write(parse.GetValue(bookOutput)!.FullName, parse.GetValue(bookSeed));
    Console.WriteLine($"wrote {string.Join(", ", Uld.Bench.Books.StoryBook.Parts.Select(p => $"{p.File} ({p.Stories})"))} to {parse.GetValue(bookOutput)!.FullName}");
    return 0;
}));

var vocabularies = new Option<int[]>("--vocab") { Description = "vocabulary sizes to measure", DefaultValueFactory = _ => [32_000, 128_256], AllowMultipleArgumentsPerToken = true };
var samplerSteps = new Option<int>("--steps") { Description = "decode steps timed per row", DefaultValueFactory = _ => 300 };
var decodeSpeed = new Option<double>("--decode-tokens-per-second")
    { Description = "the model's single-stream decode speed the per-token work is compared with (default: Llama-3.2-1B int4, bench/results/scale.md)", DefaultValueFactory = _ => 23.2 };
var sampler = new Command("sampler", "Per-token work outside the model at 32K and 128K vocabularies: the ULD rule and the sampler, against a full sort and a decode step.")
    { vocabularies, samplerSteps, decodeSpeed, results };
sampler.SetAction(parse => CliErrors.Run(parse, () => SamplerBenchmark.Run(parse.GetValue(vocabularies)!, parse.GetValue(samplerSteps),
    parse.GetValue(decodeSpeed), parse.GetValue(results)!.FullName)));

var longModel = new Option<DirectoryInfo>("--model") { Description = "model directory with a serving graph (its context must hold the long prompt)", Required = true };
var longStreams = new Option<int>("--streams") { Description = "streams decoding when the long prompt arrives", DefaultValueFactory = _ => 8 };
var promptTokens = new Option<int>("--prompt-tokens") { Description = "length of the long prompt", DefaultValueFactory = _ => 2000 };
var shares = new Option<double[]>("--share") { Description = "LogitServer:PrefillTimeShare values to compare, one server each (0: prompts run whole)", DefaultValueFactory = _ => [0, 0.5, 1], AllowMultipleArgumentsPerToken = true };
var longRounds = new Option<int>("--rounds") { Description = "interleaved rounds", DefaultValueFactory = _ => 3 };
var longPrompt = new Command("long-prompt", "What a long prompt arriving does to streams already decoding: their inter-token p95 before and during its prefill, per LogitServer:PrefillTimeShare (chunked prefill).")
    { longModel, longStreams, promptTokens, shares, longRounds, results, serverDll };
longPrompt.SetAction((parse, _) => CliErrors.RunAsync(parse, () => LongPromptBenchmark.RunAsync(new LongPromptOptions
{
    ServerDll = AppLocator.Require(parse.GetValue(serverDll)!, "LogitServer"),
    ModelDir = parse.GetValue(longModel)!.FullName,
    Streams = parse.GetValue(longStreams),
    PromptTokens = parse.GetValue(promptTokens),
    Shares = parse.GetValue(shares)!,
    Rounds = parse.GetValue(longRounds),
    ResultsDir = parse.GetValue(results)!.FullName,
})));

var root = new RootCommand("uld-bench: benchmarks of UldServer's apps, run as child processes; results go under bench/results/.")
    { serve, gateway, train, scale, book, sampler, longPrompt, ForgetRequestsCommand.Create(serverDll, trainerDll, results), CliErrors.CreateVerboseOption() };
return await root.Parse(args).InvokeAsync();
