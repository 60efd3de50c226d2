using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Uld.Tests.Support;

/// <summary>
/// The command-line reference of the apps as an operator sees it: every command's <c>--help</c>,
/// printed by the app's own Release build run as a child process (output redirected, so System.CommandLine does not
/// wrap lines), walked from the root through each "Commands:" section. docs/CLI.md holds these texts between
/// generated markers; <see cref="Parse"/> reads them back so that command lines quoted in the docs can be checked.
/// </summary>
public static partial class CliReference
{
    /// <summary>The apps with a System.CommandLine tree.</summary>
    public static readonly IReadOnlyList<(string Executable, string Folder)> Tools =
        [("uld-trainer", "Trainer"), ("uld-eval", "Eval"), ("uld-bench", "Bench")];

    /// <summary>The servers: their arguments are configuration keys, their <c>--help</c> a usage page, their one command <c>health</c>.</summary>
    public static readonly IReadOnlyList<(string Executable, string Folder)> Servers =
        [("uld-logitserver", "LogitServer"), ("uld-gateway", "Gateway"), ("uld-forget", "Forget")];

    /// <summary>Every app, in the order docs/CLI.md shows them.</summary>
    public static IReadOnlyList<(string Executable, string Folder)> Apps => [.. Tools, .. Servers];

    /// <summary>One command: its path below the executable (empty for the root) and its help text.</summary>
    public sealed record Command(string Executable, IReadOnlyList<string> Path, string Help)
    {
        public string Name => string.Join(' ', [Executable, .. Path]);

        /// <summary>The names in the "Options:" section, aliases included (<c>-o</c>, <c>--output</c>).</summary>
        public IReadOnlySet<string> Options => Section(Help, "Options:")
            .SelectMany(l => OptionNames().Matches(l.TrimStart().Split("  ", 2)[0]).Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);

        /// <summary>The names in the "Commands:" section.</summary>
        public IReadOnlyList<string> Subcommands => [.. Section(Help, "Commands:").Select(l => l.TrimStart().Split(' ', 2)[0])];
    }

    public static string Begin(string executable) => $"<!-- generated from `{executable} --help` by CliReferenceTests: begin -->";
    public static string End(string executable) => $"<!-- generated from `{executable} --help` by CliReferenceTests: end -->";

    /// <summary>Every command of <paramref name="executable"/>, root first, each followed by its subcommands.</summary>
    public static async Task<IReadOnlyList<Command>> CollectAsync(string executable, string folder)
    {
        var dll = SharedPaths.Require(System.IO.Path.Combine(SharedPaths.RepositoryRoot, "src", "apps", folder, "bin", "Release", "net10.0", executable + ".dll"));
        var commands = new List<Command>();
        async Task Walk(IReadOnlyList<string> path)
        {
            var command = new Command(executable, path, await HelpAsync(dll, path));
            commands.Add(command);
            foreach (var sub in command.Subcommands) await Walk([.. path, sub]);
        }
        await Walk([]);
        return commands;
    }

    /// <summary>The Markdown docs/CLI.md holds between an app's markers: one heading and one text block per command.</summary>
    public static string Render(IReadOnlyList<Command> commands)
    {
        var md = new StringBuilder();
        foreach (var command in commands)
        {
            md.Append("#### `").Append(command.Name).Append("`\n\n```text\n").Append(command.Help.TrimEnd()).Append("\n```\n\n");
        }
        return md.ToString().TrimEnd() + "\n";
    }

    /// <summary>The commands of every app as docs/CLI.md's generated blocks hold them.</summary>
    public static IReadOnlyList<Command> Parse(string cliMarkdown)
    {
        var commands = new List<Command>();
        foreach (var (executable, _) in Apps)
        {
            var block = Block(cliMarkdown, executable) ?? throw new InvalidDataException($"docs/CLI.md has no generated block for {executable}.");
            foreach (Match m in GeneratedCommand().Matches(block))
            {
                var words = m.Groups["name"].Value.Split(' ');
                commands.Add(new Command(words[0], words[1..], m.Groups["help"].Value.Replace("\r", "", StringComparison.Ordinal)));
            }
        }
        return commands;
    }

    /// <summary>What lies between an app's markers, or null without them.</summary>
    public static string? Block(string markdown, string executable)
    {
        var (begin, end) = (markdown.IndexOf(Begin(executable), StringComparison.Ordinal), markdown.IndexOf(End(executable), StringComparison.Ordinal));
        return begin < 0 || end < begin ? null : markdown[(begin + Begin(executable).Length)..end].Trim('\n') + "\n";
    }

    /// <summary><paramref name="markdown"/> with an app's block replaced by <paramref name="block"/>.</summary>
    public static string ReplaceBlock(string markdown, string executable, string block)
    {
        var (begin, end) = (markdown.IndexOf(Begin(executable), StringComparison.Ordinal), markdown.IndexOf(End(executable), StringComparison.Ordinal));
        if (begin < 0 || end < begin) throw new InvalidDataException($"docs/CLI.md has no {Begin(executable)} … {End(executable)} markers.");
        return markdown[..(begin + Begin(executable).Length)] + "\n\n" + block + "\n" + markdown[end..];
    }

    private static async Task<string> HelpAsync(string dll, IReadOnlyList<string> path)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = SharedPaths.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var word in path) start.ArgumentList.Add(word);
        start.ArgumentList.Add("--help");
        start.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{System.IO.Path.GetFileName(dll)} {string.Join(' ', path)} --help exited with {process.ExitCode}: {await error}");
        // Defaults that are paths inside this checkout (e.g. uld-bench's --server-dll) are shown relative to it, so the
        // reference does not depend on where the repository was cloned.
        return (await output).Replace("\r", "", StringComparison.Ordinal).Replace(SharedPaths.RepositoryRoot + "/", "", StringComparison.Ordinal);
    }

    /// <summary>The indented lines of one help section (up to the next blank line).</summary>
    private static IEnumerable<string> Section(string help, string title) =>
        help.Split('\n').SkipWhile(l => l != title).Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal));

    [GeneratedRegex(@"(?<![\w-])--?[A-Za-z?][\w-]*")]
    private static partial Regex OptionNames();

    [GeneratedRegex(@"^#### `(?<name>[^`]+)`\n\n```text\n(?<help>.*?)\n```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex GeneratedCommand();
}
