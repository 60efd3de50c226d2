using System.CommandLine;
using Uld.Cli;
using Uld.Eval.Cli;

var root = new RootCommand("uld-eval: unlearning metrics through an OpenAI-compatible API, and the reports built from them.")
{
    TofuCommand.Create(),
    ReportCommand.Create(),
    SelectCommand.Create(),
    AbCommand.Create(),
    ReportCommand.CreateRobustness(),
    CliErrors.CreateVerboseOption(),
};
return await root.Parse(args).InvokeAsync();
