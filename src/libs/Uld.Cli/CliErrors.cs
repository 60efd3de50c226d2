using Spectre.Console;
using Uld.Contracts.Models;

namespace Uld.Cli;

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
        catch (Exception e) when (IsExpected(e))
        {
            return Report(e);
        }
    }

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (IsExpected(e))
        {
            return Report(e);
        }
    }

    /// <summary>
    /// Failures a user can fix (bad files or arguments, an unreachable or refusing server); anything else is a bug and
    /// keeps its stack trace.
    /// </summary>
    private static bool IsExpected(Exception e) => e is ModelFormatException or IOException or UnauthorizedAccessException or ArgumentException
        or InvalidDataException or NotSupportedException or HttpRequestException or TaskCanceledException;

    private static int Report(Exception e)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
        return BadInput;
    }
}
