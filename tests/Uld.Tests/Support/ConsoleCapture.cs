using Spectre.Console;

namespace Uld.Tests.Support;

/// <summary>
/// What a CLI prints, read by swapping the process-wide Spectre console (so callers belong to
/// <see cref="TorchSharpCollection"/>, which runs one class at a time).
/// </summary>
public static class ConsoleCapture
{
    public static (int Exit, string Output) Run(Func<int> run) => RunAsync(() => Task.FromResult(run())).GetAwaiter().GetResult();

    public static async Task<(int Exit, string Output)> RunAsync(Func<Task<int>> run)
    {
        var output = new StringWriter();
        var original = AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 4096; // no wrapping: the tests compare whole lines
        AnsiConsole.Console = console;
        try
        {
            return (await run(), output.ToString());
        }
        finally
        {
            AnsiConsole.Console = original;
        }
    }
}
