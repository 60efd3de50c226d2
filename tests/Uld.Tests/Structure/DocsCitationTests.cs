using System.Text;
using System.Text.RegularExpressions;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// Code, scripts, manifests and docs cite docs pages by section (<c>docs/DESIGN.md, *The ULD decode rule*</c>) and link
/// them by anchor (<c>[…](docs/SERVING.md#threading)</c>); every cited section, linked file and anchor must exist.
/// </summary>
public sealed partial class DocsCitationTests
{
    private static string Root => SharedPaths.RepositoryRoot;

    /// <summary>Every file that may cite a doc: sources, tests, scripts, container and cluster files, and the docs themselves.</summary>
    private static IEnumerable<string> CitingFiles()
    {
        var patterns = new[] { "*.cs", "*.sh", "*.yaml", "*.yml", "*.md", "Dockerfile*" };
        return new[] { "src", "tests", "bench", "deploy", "docs", "models", "tools", ".ci" }
            .Select(d => Path.Combine(Root, d)).Where(Directory.Exists)
            .SelectMany(d => patterns.SelectMany(p => Directory.EnumerateFiles(d, p, SearchOption.AllDirectories)))
            .Concat(Directory.EnumerateFiles(Root).Where(f => Path.GetFileName(f) is "README.md" or "quickstart.sh" or "compose.yaml" || Path.GetFileName(f).StartsWith("Dockerfile", StringComparison.Ordinal)))
            .Append(Path.Combine(Root, ".ci", "run"))
            .Where(f => Path.GetFileName(f) != "DocsCitationTests.cs") // its own comments show the patterns
            .Where(f => File.Exists(f) && !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/node_modules/", StringComparison.Ordinal))
            .Distinct();
    }

    private static Dictionary<string, List<string>> Headings(IEnumerable<string> files) => files.ToDictionary(
        f => Path.GetRelativePath(Root, f).Replace('\\', '/'),
        f => Markdown(File.ReadAllText(f)).Split('\n').Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()).ToList());

    [Fact]
    public void Every_cited_docs_section_exists()
    {
        var headings = Headings(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Append(Path.Combine(Root, "README.md")));
        var citations = 0;
        var broken = new List<string>();
        foreach (var file in CitingFiles())
        {
            var text = File.ReadAllText(file);
            foreach (Match m in Citation().Matches(text))
            {
                citations++;
                var doc = m.Groups["doc"].Value;
                var section = Regex.Replace(m.Groups["section"].Value.Trim('*', ' ', '"'), @"\s*(?:///|#)?\s*\n\s*(?:///|#)?\s*", " ");
                if (!headings.TryGetValue(doc, out var sections)) broken.Add($"{Relative(file)}: {doc} does not exist");
                else if (section.Length > 0 && !sections.Any(h => h.StartsWith(section, StringComparison.Ordinal)))
                    broken.Add($"{Relative(file)}: {doc} has no section \"{section}\"");
            }
            // The README is a front door with a few sections; nothing cites it by section except those.
            foreach (Match m in ReadmeCitation().Matches(text))
            {
                citations++;
                if (!headings["README.md"].Any(h => h.StartsWith(m.Groups["section"].Value, StringComparison.Ordinal)))
                    broken.Add($"{Relative(file)}: README.md has no section \"{m.Groups["section"].Value}\"");
            }
        }
        Assert.True(citations >= 20, $"only {citations} citations found; is the pattern still right?");
        Assert.True(broken.Count == 0, Environment.NewLine + string.Join(Environment.NewLine, broken));
    }

    [Fact]
    public void Every_relative_link_in_the_docs_reaches_a_file_and_its_anchor()
    {
        var pages = CitingFiles().Where(f => f.EndsWith(".md", StringComparison.Ordinal)).ToList();
        var anchors = new Dictionary<string, HashSet<string>>();
        HashSet<string> AnchorsOf(string path) => anchors.TryGetValue(path, out var a) ? a : anchors[path] = Anchors(File.ReadAllText(path));
        var links = 0;
        var broken = new List<string>();
        foreach (var page in pages)
        {
            foreach (Match m in Link().Matches(Markdown(File.ReadAllText(page))))
            {
                var target = m.Groups["target"].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
                links++;
                var hash = target.IndexOf('#');
                var (path, anchor) = hash < 0 ? (target, null) : (target[..hash], target[(hash + 1)..]);
                var resolved = path.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(path)));
                if (!File.Exists(resolved) && !Directory.Exists(resolved)) broken.Add($"{Relative(page)}: ({target}) — no {Relative(resolved)}");
                else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal) && !AnchorsOf(resolved).Contains(Uri.UnescapeDataString(anchor)))
                    broken.Add($"{Relative(page)}: ({target}) — {Relative(resolved)} has no heading with anchor #{anchor}");
            }
        }
        Assert.True(links >= 30, $"only {links} relative links found; is the pattern still right?");
        Assert.True(broken.Count == 0, Environment.NewLine + string.Join(Environment.NewLine, broken));
    }

    [Theory]
    [InlineData("Contract 3: the API and its ULD extensions", "contract-3-the-api-and-its-uld-extensions")]
    [InlineData("Your own data: `unlearn` and `train`", "your-own-data-unlearn-and-train")]
    [InlineData("α calibration", "α-calibration")]
    [InlineData("Offset unlearning (seed 001's `Offset-*` rows)", "offset-unlearning-seed-001s-offset--rows")]
    [InlineData("The servers: `uld-logitserver`, `uld-gateway`, `uld-forget`", "the-servers-uld-logitserver-uld-gateway-uld-forget")]
    public void Anchors_are_made_from_headings_as_GitHub_makes_them(string heading, string anchor) =>
        Assert.Equal(anchor, Slug(heading));

    /// <summary>The anchors GitHub gives a page's headings: the slug, and slug-1, slug-2… for repeats.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var seen = new Dictionary<string, int>();
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var heading in Markdown(markdown).Split('\n').Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()))
        {
            var slug = Slug(heading);
            var n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    /// <summary>GitHub's heading anchor: lower case, letters, digits, '-' and '_' kept, spaces to '-', all else dropped.</summary>
    private static string Slug(string heading)
    {
        var slug = new StringBuilder();
        foreach (var c in heading.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
            else if (c == ' ') slug.Append('-');
        }
        return slug.ToString();
    }

    /// <summary>Markdown without fenced code blocks, whose lines are code rather than headings or links.</summary>
    private static string Markdown(string text) => Fence().Replace(text.Replace("\r", "", StringComparison.Ordinal), "");

    private static string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>A docs path (capital letters, .md), optionally followed by <c>, *Section*</c> or <c>, Contract N</c>.</summary>
    [GeneratedRegex(@"(?<doc>docs/[A-Z-]+\.md)(?:, (?<section>\*[^*]+\*|Contract \d))?")]
    private static partial Regex Citation();

    /// <summary><c>README, *Section*</c>, <c>README.md, "Section"</c>, <c>README *Section*</c>.</summary>
    [GeneratedRegex(@"(?<![\w/])README(?:\.md)?,? (?:\*(?<section>[^*\n]+)\*|""(?<section>[^""\n]+)"")")]
    private static partial Regex ReadmeCitation();

    [GeneratedRegex(@"\[(?:[^\]\n]|\n(?!\n))*\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();
}
