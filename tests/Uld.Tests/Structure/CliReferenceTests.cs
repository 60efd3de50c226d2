using System.Text.RegularExpressions;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// docs/CLI.md's reference is the apps' own <c>--help</c>, and the command lines the docs show are ones the apps accept.
/// </summary>
public sealed partial class CliReferenceTests
{
    private const string UpdateVariable = "UPDATE_DOCS";
    private static string CliDoc => Path.Combine(SharedPaths.RepositoryRoot, "docs", "CLI.md");

    [Fact]
    public async Task Docs_CLI_md_holds_every_commands_help_as_the_apps_print_it()
    {
        var original = File.ReadAllText(CliDoc);
        var updated = original;
        var stale = new List<string>();
        foreach (var (executable, folder) in CliReference.Apps)
        {
            var commands = await CliReference.CollectAsync(executable, folder);
            // A tool has a tree of commands; a server its usage and `health`.
            var expected = CliReference.Servers.Contains((executable, folder)) ? 2 : 5;
            Assert.True(commands.Count >= expected, $"{executable}: only {commands.Count} commands found; is the help parsed right?");
            var block = CliReference.Render(commands);
            if (CliReference.Block(updated, executable) != block) stale.Add(executable);
            updated = CliReference.ReplaceBlock(updated, executable, block);
        }
        if (stale.Count > 0 && Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            var temp = CliDoc + ".tmp";
            File.WriteAllText(temp, updated);
            File.Move(temp, CliDoc, overwrite: true);
            return;
        }
        Assert.True(stale.Count == 0,
            $"docs/CLI.md's reference of {string.Join(", ", stale)} differs from the apps' --help. After building the solution, regenerate it with " +
            $"{UpdateVariable}=1 dotnet test tests/Uld.Tests -c Release --no-build --filter \"FullyQualifiedName~{nameof(CliReferenceTests)}\" and commit the result.");
    }

    [Fact]
    public void Every_command_line_in_the_docs_names_a_command_that_exists_with_options_it_has()
    {
        var reference = CliReference.Parse(File.ReadAllText(CliDoc));
        var byName = reference.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var checkedLines = 0;
        var broken = new List<string>();
        foreach (var (doc, line) in DocumentedCommandLines())
        {
            var m = CommandStart().Match(line);
            var executable = m.Groups["exe"].Success ? m.Groups["exe"].Value : AppExecutable(m.Groups["folder"].Value);
            var words = Words(line[(m.Index + m.Length)..]);
            if (CliReference.Servers.Any(s => s.Executable == executable))
            {
                // The servers are ASP.NET Core hosts: arguments are configuration keys (--Section:Key=value), so only the
                // command is checked, against the commands their --help lists.
                var first = words.FirstOrDefault(w => !w.StartsWith('-'));
                if (first is not null && words.IndexOf(first) == 0 && !byName.ContainsKey($"{executable} {first}"))
                    broken.Add($"{doc}: `{line}` — {executable} has no command \"{first}\"");
                checkedLines++;
                continue;
            }
            if (!byName.TryGetValue(executable, out var command)) { broken.Add($"{doc}: `{line}` — no reference for {executable}"); continue; }
            var i = 0;
            while (i < words.Count && byName.TryGetValue($"{command.Name} {words[i]}", out var sub)) { command = sub; i++; }
            if (i < words.Count && !words[i].StartsWith('-') && !IsPlaceholder(words[i]))
            {
                broken.Add($"{doc}: `{line}` — {command.Name} has no command \"{words[i]}\"");
                continue;
            }
            foreach (var option in words.Skip(i).Select(OptionName).OfType<string>())
                if (!command.Options.Contains(option)) broken.Add($"{doc}: `{line}` — {command.Name} has no option {option}");
            checkedLines++;
        }
        Assert.True(checkedLines >= 40, $"only {checkedLines} command lines found in the docs; is the pattern still right?");
        Assert.True(broken.Count == 0, Environment.NewLine + string.Join(Environment.NewLine, broken));
    }

    /// <summary>
    /// The command lines in README.md, models/README.md and docs/*.md: code spans and fenced shell lines (with their
    /// continuation lines joined) that run one of the apps — <c>uld-x …</c>, <c>dotnet run --project src/apps/X -c
    /// Release -- …</c> or <c>dotnet …/uld-x.dll …</c>.
    /// </summary>
    internal static IEnumerable<(string Doc, string Line)> DocumentedCommandLines()
    {
        var root = SharedPaths.RepositoryRoot;
        var docs = new[] { "README.md", "models/README.md" }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal));
        foreach (var doc in docs)
        {
            var text = File.ReadAllText(Path.Combine(root, doc));
            // docs/CLI.md's generated reference is the apps' own help, not command lines quoted by hand.
            foreach (var (executable, _) in CliReference.Apps)
                if (CliReference.Block(text, executable) is { } generated) text = text.Replace(generated, "", StringComparison.Ordinal);
            var code = new List<string>();
            foreach (Match block in FencedBlock().Matches(text))
                code.AddRange(block.Groups["body"].Value.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n'));
            var prose = FencedBlock().Replace(text, "");
            code.AddRange(CodeSpan().Matches(prose).Select(m => m.Groups["code"].Value.Replace('\n', ' ')));
            foreach (var piece in code)
            {
                // A quoted pipeline or list of commands: check each command, in order.
                foreach (var segment in Separators().Split(piece))
                {
                    var start = CommandStart().Match(segment);
                    if (start.Success) yield return (doc, segment[start.Index..].Trim());
                }
            }
        }
    }

    private static string AppExecutable(string folder) => "uld-" + folder.ToLowerInvariant();

    private static List<string> Words(string rest) =>
        [.. rest.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim('[', ']', '(', ')', ',', '`'))
            .Where(w => w.Length > 0 && w is not "..." and not "…")];

    /// <summary><c>DIR</c>, <c>&lt;command&gt;</c>, <c>…</c>: a word that stands for something the reader supplies.</summary>
    private static bool IsPlaceholder(string word) => word.StartsWith('<') || word.All(c => char.IsUpper(c) || c is '_' or '.');

    /// <summary>The option a word names (<c>--weights=int8</c> → <c>--weights</c>), or null for a value.</summary>
    private static string? OptionName(string word)
    {
        var m = OptionWord().Match(word);
        return m.Success ? m.Groups["name"].Value : null;
    }

    [GeneratedRegex(@"(?:^|(?<=[\s(""'$]))(?:(?<exe>uld-(?:trainer|eval|bench|logitserver|gateway|forget))(?![\w.-])|dotnet run --project src/apps/(?<folder>\w+)(?: -c Release)? --|dotnet (?:\S*/)?(?<exe>uld-(?:trainer|eval|bench|logitserver|gateway|forget))\.dll)")]
    private static partial Regex CommandStart();

    [GeneratedRegex(@"^```[a-z]*\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedBlock();

    /// <summary>An inline code span, which may wrap onto the next line of its paragraph.</summary>
    [GeneratedRegex(@"`(?<code>(?:[^`\n]|\n(?!\n))+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\s(?:\||&&|;|&)\s|\s&$|\$\(")]
    private static partial Regex Separators();

    [GeneratedRegex(@"^(?<name>--?[A-Za-z][\w-]*)(?:=.*)?$")]
    private static partial Regex OptionWord();
}
