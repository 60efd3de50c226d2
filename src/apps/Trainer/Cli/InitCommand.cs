using Uld.Cli;
using System.CommandLine;
using Spectre.Console;
using Uld.Trainer.Import;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary><c>init</c>: a random-weight model directory of any supported config.json, with a given tokenizer.</summary>
public static class InitCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "Hugging Face config.json of a supported family (llama, mistral, qwen2, qwen3)", Required = true };
        var tokenizer = new Option<DirectoryInfo>("--tokenizer") { Description = "folder with tokenizer.json (and tokenizer_config.json) to copy", Required = true };
        var seed = new Option<int>("--seed") { Description = "random seed of the weights", DefaultValueFactory = _ => 0 };
        var (output, name, force, externalThreshold) = ImportCommand.CommonOptions();
        var command = new Command("init", "Write a model directory with random weights of a config's exact shape (for tests, benchmarks and memory sizing).")
            { config, tokenizer, seed, output, name, force, externalThreshold };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            TorchRuntime.EnsureInitialized();
            var options = new ModelPackage.Options { Overwrite = parse.GetValue(force), ExternalDataThreshold = parse.GetValue(externalThreshold) };
            Contracts.Models.ModelManifest manifest = null!;
            AnsiConsole.Status().Start("initialising", ctx => manifest = RandomModel.Write(parse.GetValue(config)!.FullName,
                parse.GetValue(tokenizer)!.FullName, parse.GetValue(output)!.FullName, parse.GetValue(seed), parse.GetValue(name), options, step => ctx.Status(step)));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {parse.GetValue(output)!.FullName} ({manifest.Files.Count} files, random weights, seed {parse.GetValue(seed)})");
            return 0;
        }));
        return command;
    }
}
