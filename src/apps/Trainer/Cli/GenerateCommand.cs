using Uld.Contracts;
using Uld.Cli;
using System.CommandLine;
using Spectre.Console;
using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Inference;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary><c>generate</c>: greedy text from a model directory through ONNX Runtime or TorchSharp — a quick look at a model.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var modelDir = new Option<DirectoryInfo>("--model-dir", "-m") { Description = "model directory", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "prompt text (BOS is prepended)", DefaultValueFactory = _ => "" };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "tokens to generate", DefaultValueFactory = _ => 64 };
        var engine = new Option<string>("--engine") { Description = "ort or torch", DefaultValueFactory = _ => "ort" };
        engine.AcceptOnlyFromAmong("ort", "torch");
        var command = new Command("generate", "Greedy generation from a model directory.") { modelDir, prompt, maxTokens, engine };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var dir = ModelDirectory.Open(parse.GetValue(modelDir)!.FullName);
            var tokenizer = ModelTokenizer.Load(dir.Root);
            var promptIds = tokenizer.Encode(parse.GetValue(prompt)!, addBos: true);
            var n = parse.GetValue(maxTokens);
            if (n <= 0) throw new UserErrorException("--max-tokens must be positive.");
            List<int> output;
            if (parse.GetValue(engine) == "torch")
            {
                TorchRuntime.EnsureInitialized();
                using var model = LlamaWeights.LoadDirectory(dir);
                output = TorchDecoding.Generate(model, promptIds, n, tokenizer.Ids.Eos);
            }
            else
            {
                using var model = new OnnxCausalLm(dir.OnnxPath);
                output = GreedyDecoder.Generate(model, promptIds, n, tokenizer.Ids.Eos);
            }
            Console.WriteLine(tokenizer.Decode(promptIds.Skip(1).Concat(output)));
            return 0;
        }));
        return command;
    }
}
