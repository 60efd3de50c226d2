using System.CommandLine;
using Uld.Bench;

var baseDir = new Option<DirectoryInfo>("--base") { Description = "base model directory", Required = true };
var assistantDir = new Option<DirectoryInfo>("--assistant") { Description = "ULD assistant model directory", Required = true };
var tokens = new Option<int>("--tokens") { Description = "tokens per stream", DefaultValueFactory = _ => 128 };
var streams = new Option<int[]>("--streams") { Description = "concurrency levels", DefaultValueFactory = _ => [1, 4, 16], AllowMultipleArgumentsPerToken = true };
var rounds = new Option<int>("--rounds") { Description = "interleaved rounds per cell", DefaultValueFactory = _ => 3 };
var results = new Option<DirectoryInfo>("--results") { Description = "results directory", DefaultValueFactory = _ => new DirectoryInfo("bench/results") };

var serve = new Command("serve", "Tokens/s and time to first token, plain vs ULD, at several concurrency levels, over loopback HTTP.")
    { baseDir, assistantDir, tokens, streams, rounds, results };
serve.SetAction((parse, _) => ServeBenchmark.RunAsync(parse.GetValue(baseDir)!.FullName, parse.GetValue(assistantDir)!.FullName,
    parse.GetValue(tokens), parse.GetValue(streams)!, parse.GetValue(rounds), parse.GetValue(results)!.FullName));

var root = new RootCommand("uld-bench: benchmarks of the serving stack; results go under bench/results/.") { serve };
return await root.Parse(args).InvokeAsync();
