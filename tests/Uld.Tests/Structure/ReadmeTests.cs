using System.Text.RegularExpressions;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// What the README and the docs show a newcomer holds: the headline results are the results file's, the request
/// examples name models the default stack serves, and the component table is the repository's layout.
/// </summary>
public sealed partial class ReadmeTests
{
    private static string Root => SharedPaths.RepositoryRoot;
    private static string Read(string path) => File.ReadAllText(Path.Combine(Root, path));

    [Fact]
    public void The_results_block_is_the_test_tables_of_bench_results_tofu_mini_md()
    {
        var block = Between(Read("README.md"), "<!-- tofu-mini results: begin -->", "<!-- tofu-mini results: end -->");
        var results = Read("bench/results/tofu-mini.md");
        var shown = HeadlineSection().Matches(block).ToList();
        Assert.NotEmpty(shown);
        foreach (var section in shown)
        {
            var (test, validation) = (section.Groups["test"].Value, section.Groups["validation"].Value);
            var report = Between(results, $"## Test: {test} (configurations chosen on {validation})", "\n## ");
            var (header, rows) = Table(report);
            var (method, fq, mu, seeds) = (header.IndexOf("method"), header.IndexOf("FQ"), header.IndexOf("MU × target"), header.IndexOf("seeds"));
            var methods = rows.Where(r => r[method] is not "Target" and not "Retain").ToList();
            // The README's table is the report's method, FQ and MU columns, row for row, and says how many seeds they are.
            Assert.Equal(["| method | FQ | MU × target |", .. methods.Select(r => $"| {r[method]} | {r[fq]} | {r[mu]} |")], TableLines(section.Groups["body"].Value));
            var most = methods.Max(r => int.Parse(r[seeds], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(most == 1 ? "1 seed" : $"{most} seeds", section.Groups["seeds"].Value);
            // The sentences under it are the report's, in the report's order.
            Assert.Equal(Bullets(Between(report, "What the table shows", "\n#")), Bullets(section.Groups["body"].Value));
        }
        // A set the README calls not run has no test section in the report.
        foreach (Match notRun in NotRun().Matches(block))
            Assert.DoesNotContain($"## Test: {notRun.Groups["test"].Value} ", results);
    }

    [Fact]
    public void Every_model_in_a_request_example_is_a_default_deployment_or_a_compose_experiment()
    {
        var served = RepositoryModels.DefaultDeploymentSettings().Where(kv => kv.Key.EndsWith(":Name", StringComparison.Ordinal))
            .Select(kv => kv.Value!).ToHashSet(StringComparer.Ordinal);
        var experiments = ComposeExperiment().Matches(Read("compose.yaml")).Select(m => m.Groups["name"].Value);
        var known = served.Concat(experiments).ToHashSet(StringComparer.Ordinal);
        // docs/DESIGN.md's request-field table is run against the tests' own deployments by RequestFieldTableTests.
        var docs = new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")
            .Select(f => "docs/" + Path.GetFileName(f)).Where(f => f != "docs/DESIGN.md"));
        var examples = docs.SelectMany(doc => RequestModel().Matches(Read(doc)).Select(m => (doc, m.Groups["name"].Value))).ToList();
        Assert.True(examples.Count >= 2, $"only {examples.Count} request examples found; is the pattern still right?");
        var unknown = examples.Where(e => !known.Contains(e.Item2)).Select(e => $"{e.doc}: \"{e.Item2}\"").ToList();
        Assert.True(unknown.Count == 0, $"request examples name models the default stack does not serve ({string.Join(", ", known)}):{Environment.NewLine}{string.Join(Environment.NewLine, unknown)}");
    }

    [Fact]
    public void The_component_table_lists_every_app_and_library_with_its_executable()
    {
        var (header, rows) = Table(Between(Read("README.md"), "## Components", "\n## "));
        var (folder, executable) = (header.IndexOf("folder"), header.IndexOf("executable"));
        var listed = rows.Select(r => (Folder: r[folder].Trim('`'), Executable: r[executable].Trim('`'))).ToList();
        var apps = Directory.GetDirectories(Path.Combine(Root, "src", "apps")).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .Select(name => ($"src/apps/{name}", $"uld-{name!.ToLowerInvariant()}"));
        var libs = Directory.GetDirectories(Path.Combine(Root, "src", "libs")).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .Select(name => ($"src/libs/{name}", "library"));
        Assert.Equal(apps.Concat(libs).Order(), listed.Where(r => r.Folder.StartsWith("src/", StringComparison.Ordinal)).Order());
    }

    private static string Between(string text, string begin, string end)
    {
        var from = text.IndexOf(begin, StringComparison.Ordinal);
        Assert.True(from >= 0, $"no \"{begin}\"");
        from += begin.Length;
        var to = text.IndexOf(end, from, StringComparison.Ordinal);
        return to < 0 ? text[from..] : text[from..to];
    }

    /// <summary>The first Markdown table in <paramref name="text"/>: its header cells and its rows' cells.</summary>
    private static (List<string> Header, List<string[]> Rows) Table(string text)
    {
        var lines = TableLines(text);
        Assert.True(lines.Count >= 2, "no table");
        static string[] Cells(string line) => [.. line.Trim().Trim('|').Split(" | ").Select(c => c.Trim())];
        return ([.. Cells(lines[0])], [.. lines.Skip(1).Select(Cells)]);
    }

    private static List<string> TableLines(string text) =>
        [.. text.Split('\n').SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).Select(l => l.TrimEnd()).Where(l => !l.StartsWith("|---", StringComparison.Ordinal))];

    private static List<string> Bullets(string text) =>
        [.. text.Split('\n').Where(l => l.StartsWith("- ", StringComparison.Ordinal) && !NotRun().IsMatch(l)).Select(l => l.TrimEnd())];

    [GeneratedRegex(@"\*\*(?<test>\w+)\*\* \(configurations chosen on (?<validation>\w+); mean ± sd over (?<seeds>\d+ seeds?)\):(?<body>.*?)(?=\*\*\w+\*\* \(|- \w+: not run yet|\z)", RegexOptions.Singleline)]
    private static partial Regex HeadlineSection();

    [GeneratedRegex(@"^- (?<test>\w+): not run yet", RegexOptions.Multiline)]
    private static partial Regex NotRun();

    [GeneratedRegex(@"Gateway__Experiments__(?<name>[\w-]+)__Variants")]
    private static partial Regex ComposeExperiment();

    /// <summary><c>"model": "x"</c> in JSON (also escaped inside a shell string) and <c>model="x"</c> in Python.</summary>
    [GeneratedRegex(@"\\?""model\\?""\s*:\s*\\?""(?<name>[^""\\]+)|\bmodel\s*=\s*""(?<name>[^""]+)""")]
    private static partial Regex RequestModel();
}
