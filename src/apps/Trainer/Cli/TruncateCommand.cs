using Uld.Cli;
using System.CommandLine;
using Spectre.Console;
using Uld.Contracts.Models;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary><c>truncate</c>: the first K layers of a base as an (untrained) ULD assistant directory.</summary>
public static class TruncateCommand
{
    public static Command Create()
    {
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "base model directory", Required = true };
        var layers = new Option<int>("--layers", "-k") { Description = "number of leading layers to keep", Required = true };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "assistant directory to create", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing output directory" };
        var command = new Command("truncate", "Write the first K layers of a base (with its embedding, norm and head) as a ULD assistant directory.")
            { baseDir, layers, output, force };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            TorchRuntime.EnsureInitialized();
            var manifest = LayerTruncation.WriteAssistant(ModelDirectory.Open(parse.GetValue(baseDir)!.FullName), parse.GetValue(layers),
                parse.GetValue(output)!.FullName, parse.GetValue(force));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {parse.GetValue(output)!.FullName} (role {manifest.Role}, base {manifest.BaseModel})");
            return 0;
        }));
        return command;
    }
}
