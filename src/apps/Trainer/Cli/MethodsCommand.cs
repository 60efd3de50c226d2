using System.CommandLine;
using Spectre.Console;
using Uld.Trainer.Unlearning;

namespace Uld.Trainer.Cli;

/// <summary><c>methods</c>: every unlearning method <c>unlearn --method</c> accepts, from <see cref="UnlearningMethods"/>.</summary>
public static class MethodsCommand
{
    public static Command Create()
    {
        var command = new Command("methods", "List the unlearning methods of `unlearn --method`, their family and the data they need.");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("method", "family", "needs", "what");
            foreach (var m in UnlearningMethods.All)
                table.AddRow(Markup.Escape(m.Name), m.Family, m.Needs.Length == 0 ? "—" : m.Needs, Markup.Escape(m.Summary));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
