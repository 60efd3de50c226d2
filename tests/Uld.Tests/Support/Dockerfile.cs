using System.Text.RegularExpressions;

namespace Uld.Tests.Support;

/// <summary>A Dockerfile read as its stages and instructions (continuation lines joined, comments dropped).</summary>
public sealed partial class Dockerfile
{
    public sealed record Instruction(string Keyword, string Arguments);

    public sealed record Stage(string Name, string From, IReadOnlyList<Instruction> Instructions)
    {
        public IEnumerable<string> Arguments(string keyword) =>
            Instructions.Where(i => i.Keyword.Equals(keyword, StringComparison.OrdinalIgnoreCase)).Select(i => i.Arguments);

        /// <summary>Stages this one reads: its FROM, and every COPY --from naming a stage.</summary>
        public IEnumerable<string> Uses() =>
            Arguments("COPY").Select(a => CopyFrom().Match(a)).Where(m => m.Success).Select(m => m.Groups[1].Value).Append(From);
    }

    public IReadOnlyList<Stage> Stages { get; }

    private Dockerfile(IReadOnlyList<Stage> stages) => Stages = stages;

    public Stage this[string name] => Stages.Single(s => s.Name == name);

    public static Dockerfile Read(string path)
    {
        var text = File.ReadAllText(path).ReplaceLineEndings("\n");
        var lines = new List<string>();
        var current = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') && current.Length == 0) continue;
            if (line.StartsWith('#')) continue; // a comment inside a continued instruction
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            current += line;
            if (current.Trim().Length > 0) lines.Add(current.Trim());
            current = "";
        }
        var stages = new List<Stage>();
        string? name = null, from = null;
        var instructions = new List<Instruction>();
        foreach (var line in lines)
        {
            var space = line.IndexOf(' ');
            var keyword = line[..space].ToUpperInvariant();
            var arguments = line[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                if (from is not null) stages.Add(new Stage(name ?? $"#{stages.Count}", from, instructions));
                var m = FromLine().Match(arguments);
                Assert.True(m.Success, $"unreadable FROM line: {line}");
                from = m.Groups[1].Value;
                name = m.Groups[2].Success ? m.Groups[2].Value : null;
                instructions = [];
            }
            else instructions.Add(new Instruction(keyword, arguments));
        }
        if (from is not null) stages.Add(new Stage(name ?? $"#{stages.Count}", from, instructions));
        return new Dockerfile(stages);
    }

    /// <summary>The stages <paramref name="target"/> needs, itself included.</summary>
    public ISet<string> Closure(string target)
    {
        var names = Stages.Select(s => s.Name).ToHashSet();
        var seen = new HashSet<string>();
        var todo = new Stack<string>([target]);
        while (todo.TryPop(out var next))
        {
            if (!seen.Add(next)) continue;
            foreach (var used in this[next].Uses().Where(names.Contains)) todo.Push(used);
        }
        return seen;
    }

    [GeneratedRegex(@"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"--from=(\S+)")]
    private static partial Regex CopyFrom();
}
