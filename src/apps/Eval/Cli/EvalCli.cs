using System.CommandLine;
using Uld.Cli;

namespace Uld.Eval.Cli;

/// <summary>The command tree of uld-eval; tests invoke it in-process.</summary>
public static class EvalCli
{
    public static RootCommand Build() => new("uld-eval: unlearning metrics through an OpenAI-compatible API, and the reports built from them.")
    {
        TofuCommand.Create(),
        CorpusCommand.Create(),
        ReportCommand.Create(),
        SelectCommand.Create(),
        AbCommand.Create(),
        ReportCommand.CreateRobustness(),
        CliErrors.CreateVerboseOption(),
    };

    public static Task<int> RunAsync(params string[] args) => Build().Parse(args).InvokeAsync();
}
