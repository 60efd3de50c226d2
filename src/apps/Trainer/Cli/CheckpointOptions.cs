using System.CommandLine;
using Spectre.Console;
using Uld.Trainer.Training;

namespace Uld.Trainer.Cli;

/// <summary>
/// --checkpoint-every / --resume / --stop-after, shared by <c>train</c> and <c>unlearn</c>. The checkpoint lives beside
/// the output (<c>OUTPUT.checkpoint</c>) and is removed once the output is written.
/// </summary>
public sealed class CheckpointOptions
{
    public Option<int> Every { get; } = new("--checkpoint-every") { Description = "steps between resumable checkpoints", DefaultValueFactory = _ => 200 };
    public Option<bool> Resume { get; } = new("--resume") { Description = "continue from the checkpoint beside the output" };
    public Option<int?> StopAfter { get; } = new("--stop-after") { Description = "stop (with a checkpoint) after this many steps; --resume continues" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Every, Resume, StopAfter }) command.Options.Add(option);
    }

    public static string DirectoryFor(string output) => output.TrimEnd('/') + ".checkpoint";

    public CheckpointPlan Plan(ParseResult parse, string output) =>
        new(DirectoryFor(output), parse.GetValue(Resume), parse.GetValue(Every), parse.GetValue(StopAfter));

    /// <summary>True (after telling the user how to continue) when the run stopped before its last step.</summary>
    public static bool StoppedEarly(int stepsDone, int totalSteps, string output)
    {
        if (stepsDone >= totalSteps) return false;
        AnsiConsole.MarkupLineInterpolated($"stopped after step {stepsDone} of {totalSteps}; checkpoint in {DirectoryFor(output)}, continue with --resume");
        return true;
    }

    public static void Remove(string output)
    {
        if (Directory.Exists(DirectoryFor(output))) Directory.Delete(DirectoryFor(output), recursive: true);
    }
}
