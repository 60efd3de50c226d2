using System.CommandLine;
using Spectre.Console;
using Uld.Contracts;

namespace Uld.Cli;

/// <summary>
/// Runs a command body. A <see cref="UserErrorException"/> (bad files or options) becomes one <c>error:</c> line and exit
/// code 2; any other exception is a defect and is printed with its stack trace (exit code 1). <c>--verbose</c> adds
/// the stack trace to user errors too. A native library the system lacks (<see cref="DllNotFoundException"/>) is not a
/// defect either: one line naming it, exit code 3.
/// </summary>
public static class CliErrors
{
    public const int BadInput = 2;
    public const int Defect = 1;
    public const int MissingSystemLibrary = 3;

    /// <summary>Add to a root command; applies to every subcommand.</summary>
    public static Option<bool> CreateVerboseOption() => new("--verbose") { Description = "print stack traces for every error", Recursive = true };

    public static int Run(ParseResult parse, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(e, Verbose(parse));
        }
    }

    public static async Task<int> RunAsync(ParseResult parse, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e)
        {
            return Report(e, Verbose(parse));
        }
    }

    private static bool Verbose(ParseResult parse) =>
        parse.CommandResult.Command.Options.Concat(parse.RootCommandResult.Command.Options)
            .OfType<Option<bool>>().FirstOrDefault(o => o.Name == "--verbose") is { } verbose && parse.GetValue(verbose);

    private static int Report(Exception e, bool verbose)
    {
        if (e is UserErrorException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            if (verbose) AnsiConsole.WriteLine(e.ToString());
            return BadInput;
        }
        if (MissingLibrary(e) is { } missing)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] a native library could not be loaded: {missing.Message.ReplaceLineEndings(" ")}");
            if (verbose) AnsiConsole.WriteLine(e.ToString());
            return MissingSystemLibrary;
        }
        AnsiConsole.MarkupLineInterpolated($"[red]error (a defect, please report it):[/] {e.GetType().FullName}: {e.Message}");
        AnsiConsole.WriteLine(e.ToString());
        return Defect;
    }

    /// <summary>The load failure itself, also when a type initializer (e.g. a P/Invoke wrapper's) wraps it.</summary>
    private static DllNotFoundException? MissingLibrary(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is DllNotFoundException missing) return missing;
            if (x is not (TypeInitializationException or System.Reflection.TargetInvocationException)) return null;
        }
        return null;
    }
}
