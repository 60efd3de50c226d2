using System.CommandLine;
using Uld.Cli;

namespace Uld.Trainer.Cli;

/// <summary>The command tree of uld-trainer; tests invoke it in-process.</summary>
public static class TrainerCli
{
    public static RootCommand Build() => new("uld-trainer: import, train and export models for UldServer.")
    {
        ImportCommand.Create(),
        InitCommand.Create(),
        ExportOnnxCommand.Create(),
        ExportLlama2cCommand.Create(),
        TruncateCommand.Create(),
        FuseCommand.Create(),
        TokenizerCommand.Create(),
        TrainCommand.Create(),
        UnlearnCommand.Create(),
        MethodsCommand.Create(),
        GenerateCommand.Create(),
        BenchCommand.Create(),
        PackageCommand.Create(),
        QuantizeCommand.Create(),
        CliErrors.CreateVerboseOption(),
    };

    public static int Run(params string[] args) => Build().Parse(args).Invoke();
}
