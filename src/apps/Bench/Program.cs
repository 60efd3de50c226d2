using System.CommandLine;
using Uld.Bench;

var baseDir = new Option<DirectoryInfo>("--base") { Description = "base model directory", Required = true };
var assistantDir = new Option<DirectoryInfo>("--assistant") { Description = "ULD assistant model directory", Required = true };
var fused = new Option<FileInfo?>("--fused") { Description = "fused ULD graph of the pair (uld-trainer fuse): also served and measured as \"uld-fused\"" };
var tokens = new Option<int>("--tokens") { Description = "tokens per stream", DefaultValueFactory = _ => 128 };
var streams = new Option<int[]>("--streams") { Description = "concurrency levels", DefaultValueFactory = _ => [1, 4, 16], AllowMultipleArgumentsPerToken = true };
var rounds = new Option<int>("--rounds") { Description = "interleaved rounds per cell", DefaultValueFactory = _ => 3 };
var results = new Option<DirectoryInfo>("--results") { Description = "results directory", DefaultValueFactory = _ => new DirectoryInfo("bench/results") };

var serve = new Command("serve", "Tokens/s and time to first token, plain vs ULD, at several concurrency levels, over loopback HTTP.")
    { baseDir, assistantDir, fused, tokens, streams, rounds, results };
serve.SetAction((parse, _) => ServeBenchmark.RunAsync(parse.GetValue(baseDir)!.FullName, parse.GetValue(assistantDir)!.FullName, parse.GetValue(fused)?.FullName,
    parse.GetValue(tokens), parse.GetValue(streams)!, parse.GetValue(rounds), parse.GetValue(results)!.FullName));

var modelDir = new Option<DirectoryInfo>("--model") { Description = "model directory served by the LogitServer", Required = true };
var gatewayStreams = new Option<int>("--streams") { Description = "concurrent streams", DefaultValueFactory = _ => 16 };
var gatewayTokens = new Option<int>("--tokens") { Description = "tokens per stream", DefaultValueFactory = _ => 256 };
var gatewayRounds = new Option<int>("--rounds") { Description = "interleaved rounds", DefaultValueFactory = _ => 4 };
var latencyRequests = new Option<int>("--latency-requests") { Description = "sequential one-token requests per path", DefaultValueFactory = _ => 200 };
var gateway = new Command("gateway", "The gateway's overhead: the same load direct to LogitServer and through the Gateway, in one run.")
    { modelDir, gatewayStreams, gatewayTokens, gatewayRounds, latencyRequests, results };
gateway.SetAction((parse, _) => GatewayBenchmark.RunAsync(parse.GetValue(modelDir)!.FullName, parse.GetValue(gatewayStreams),
    parse.GetValue(gatewayTokens), parse.GetValue(gatewayRounds), parse.GetValue(latencyRequests), parse.GetValue(results)!.FullName));

var root = new RootCommand("uld-bench: benchmarks of the serving stack; results go under bench/results/.") { serve, gateway };
return await root.Parse(args).InvokeAsync();
