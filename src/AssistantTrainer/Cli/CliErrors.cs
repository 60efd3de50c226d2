using Spectre.Console;
using Uld.Core.Models;

namespace Uld.Trainer.Cli;

/// <summary>Runs a command body and turns expected failures (bad input, I/O) into one clear line and exit code 2.</summary>
public static class CliErrors
{
    public const int BadInput = 2;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ModelFormatException or IOException or UnauthorizedAccessException or ArgumentException
                                      or InvalidDataException or NotSupportedException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return BadInput;
        }
    }
}
