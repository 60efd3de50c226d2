using System.Text.RegularExpressions;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>Code comments cite docs/DESIGN.md and docs/METHODS.md by section; every cited section must exist.</summary>
public sealed partial class DocsCitationTests
{
    [Fact]
    public void Every_cited_docs_section_exists()
    {
        var root = SharedPaths.RepositoryRoot;
        var headings = Directory.GetFiles(Path.Combine(root, "docs"), "*.md").ToDictionary(
            f => $"docs/{Path.GetFileName(f)}",
            f => File.ReadLines(f).Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()).ToList());
        var sources = new[] { "src", "tests" }.SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal));

        var citations = 0;
        var broken = new List<string>();
        foreach (var file in sources)
        {
            foreach (Match m in Citation().Matches(File.ReadAllText(file)))
            {
                citations++;
                var (doc, section) = (m.Groups["doc"].Value, m.Groups["section"].Value.Trim('*', ' '));
                if (!headings.TryGetValue(doc, out var sections)) broken.Add($"{file}: {doc} does not exist");
                else if (section.Length > 0 && !sections.Any(h => h.StartsWith(section, StringComparison.Ordinal)))
                    broken.Add($"{file}: {doc} has no section \"{section}\"");
            }
        }
        Assert.True(citations >= 10, $"only {citations} citations found; is the pattern still right?");
        Assert.True(broken.Count == 0, string.Join(Environment.NewLine, broken));
    }

    /// <summary>A docs path (capital letters, .md), optionally followed by <c>, *Section*</c> or <c>, Contract N</c>.</summary>
    [GeneratedRegex(@"(?<doc>docs/[A-Z-]+\.md)(?:, (?<section>\*[^*]+\*|Contract \d))?")]
    private static partial Regex Citation();
}
