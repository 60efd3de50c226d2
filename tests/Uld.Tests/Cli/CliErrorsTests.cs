using System.CommandLine;
using Uld.Cli;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Trainer.Cli;

namespace Uld.Tests.Cli;

/// <summary>
/// What a CLI prints when a command fails: a user error is one <c>error:</c> line and exit 2 (its stack only with
/// --verbose); anything else is a defect, printed with its stack trace, exit 1. (Swaps the process-wide console, so it
/// runs in the collection that owns such state.)
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class CliErrorsTests
{
    private static (int Exit, string Output) Run(Func<int> body, params string[] args)
    {
        var command = new RootCommand("probe") { CliErrors.CreateVerboseOption() };
        command.SetAction(parse => CliErrors.Run(parse, body));
        return ConsoleCapture.Run(() => command.Parse(args).Invoke());
    }

    private static bool HasStackTrace(string output) => output.Split('\n').Any(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

    [Fact]
    public void A_user_error_is_one_line_and_exit_code_2()
    {
        var (exit, output) = Run(() => throw new UserErrorException("--bits must be between 2 and 8 (got 9)."));
        Assert.Equal(CliErrors.BadInput, exit);
        Assert.Equal("error: --bits must be between 2 and 8 (got 9).", output.Trim());
    }

    [Fact]
    public void A_model_format_problem_is_a_user_error()
    {
        var (exit, output) = Run(() => throw new ModelFormatException("model.safetensors is truncated."));
        Assert.Equal(CliErrors.BadInput, exit);
        Assert.False(HasStackTrace(output), output);
    }

    [Theory]
    [InlineData(typeof(ArgumentException))] // once reported as a user error whatever threw it
    [InlineData(typeof(InvalidOperationException))]
    [InlineData(typeof(IOException))]
    public void Anything_else_is_a_defect_and_prints_its_stack_trace(Type type)
    {
        var (exit, output) = Run(() => throw (Exception)Activator.CreateInstance(type, "index out of step")!);
        Assert.Equal(CliErrors.Defect, exit);
        Assert.Contains(type.FullName!, output);
        Assert.Contains("index out of step", output);
        Assert.True(HasStackTrace(output), output);
        Assert.Contains(nameof(Anything_else_is_a_defect_and_prints_its_stack_trace), output); // the frame that threw
    }

    [Fact]
    public void Verbose_shows_the_stack_of_a_user_error_too()
    {
        var (exit, output) = Run(() => throw new UserErrorException("no such forget set."), "--verbose");
        Assert.Equal(CliErrors.BadInput, exit);
        Assert.StartsWith("error: no such forget set.", output.Trim());
        Assert.True(HasStackTrace(output), output);
    }

    [Fact]
    public void The_trainer_reports_a_missing_model_directory_as_a_user_error_with_its_stack_on_request()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"uld-missing-{Guid.NewGuid():N}");
        var (exit, output) = ConsoleCapture.Run(() => TrainerCli.Run("generate", "-m", missing));
        Assert.Equal(CliErrors.BadInput, exit);
        Assert.Equal($"error: model directory {missing} does not exist.", output.Trim());

        var (verboseExit, verbose) = ConsoleCapture.Run(() => TrainerCli.Run("generate", "-m", missing, "--verbose"));
        Assert.Equal(CliErrors.BadInput, verboseExit);
        Assert.Contains("ModelDirectory.Open", verbose);
    }
}
