using System.Text.RegularExpressions;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// A deployment kind is one class in src/apps/LogitServer/Deployments/Kinds plus one registration line, and nothing
/// else in LogitServer branches on which kind a deployment is — the registry, loader, scheduler, admission and
/// /v1/models ask the kind (docs/DESIGN.md, *Adding a deployment kind*).
/// </summary>
public sealed partial class DeploymentKindStructureTests
{
    private static string LogitServer => Path.Combine(SharedPaths.RepositoryRoot, "src", "apps", "LogitServer");
    private static string KindsFolder => Path.Combine(LogitServer, "Deployments", "Kinds");

    private static IReadOnlyList<Type> KindClasses { get; } =
        [.. typeof(DeploymentKind).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(DeploymentKind))).OrderBy(t => t.Name)];

    [Fact]
    public void Every_kind_is_a_class_in_its_own_file_under_Kinds_registered_once()
    {
        Assert.Superset(new HashSet<string> { "FusedUldKind", "OffsetKind", "PlainKind", "UldKind" }, KindClasses.Select(t => t.Name).ToHashSet());
        var registration = File.ReadAllText(Path.Combine(KindsFolder, "DeploymentKinds.cs"));
        foreach (var type in KindClasses)
        {
            var file = Path.Combine(KindsFolder, type.Name + ".cs");
            Assert.True(File.Exists(file), $"{type.Name} is not in {Path.GetRelativePath(SharedPaths.RepositoryRoot, file)}");
            Assert.Matches($@"\bclass {type.Name}\b", File.ReadAllText(file));
            if (type.IsAbstract) continue;
            Assert.Single(DeploymentKinds.All, k => k.GetType() == type);
            Assert.Single(Regex.Matches(registration, $@"new {type.Name}\(\)"));
        }
    }

    [Fact]
    public void No_code_outside_the_kind_classes_branches_on_a_kind()
    {
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(LogitServer, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(LogitServer, file);
            if (relative.StartsWith("Deployments" + Path.DirectorySeparatorChar + "Kinds" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || relative.Split(Path.DirectorySeparatorChar).Any(part => part is "obj" or "bin"))
                continue;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                found.AddRange(KindBranches(lines[i]).Select(branch => $"{relative}:{i + 1}: {branch}"));
            }
        }
        Assert.True(found.Count == 0, "branches on a deployment kind outside Deployments/Kinds (ask the kind instead):" + Environment.NewLine
                                      + string.Join(Environment.NewLine, found));
    }

    [Theory]
    [InlineData("if (deployment.IsUld) return;")]
    [InlineData("var offset = d.IsOffset;")]
    [InlineData("var uld = d.Kind == \"Uld\";")]
    [InlineData("if (options.Kind.Equals(\"offset\", StringComparison.OrdinalIgnoreCase)) { }")]
    [InlineData("return d.Kind switch { _ => 0 };")]
    [InlineData("if (deployment.Kind is UldKind) { }")]
    [InlineData("if (deployment.Kind.Name == \"Offset\") { }")]
    [InlineData("var fused = kind is FusedUldKind;")]
    [InlineData("if (model.IsFusedUld) { }")]
    [InlineData("d.Kind == DeploymentKind.Uld")]
    [InlineData("case \"Plain\":")]
    public void The_check_sees_a_branch_on_a_kind(string line) => Assert.NotEmpty(KindBranches(line));

    [Theory]
    [InlineData("_deployment.Kind.Combine(_deployment.Options, baseStep, companions, row, position, sequence.Parameters, logits);")]
    [InlineData("if (part.ValueKind == JsonValueKind.Object) { }")]
    [InlineData("var always = key is nameof(DeploymentOptions.Name) or nameof(DeploymentOptions.Kind);")]
    [InlineData("logger.LogInformation(\"{Kind}\", version.Deployment.Kind.Name);")]
    public void The_check_lets_code_ask_the_kind(string line) => Assert.Empty(KindBranches(line));

    /// <summary>What in one line of code tells kinds apart instead of asking the kind.</summary>
    private static IEnumerable<string> KindBranches(string line)
    {
        var names = string.Join("|", DeploymentKinds.Names.Select(Regex.Escape));
        var classes = string.Join("|", KindClasses.Select(t => t.Name));
        var patterns = new[]
        {
            @"\bIs(?:Uld|Offset|Plain|Fused\w*)\b",                                  // deployment.IsUld, model.IsFusedUld
            @"\bKind(?:\.(?:Name|Label))?\s*(?:[!=]=|\bis\b|\bswitch\b)",            // d.Kind == …, Kind is …, Kind.Name switch
            @"\bKind(?:\.(?:Name|Label))?\.Equals\(",
            $@"\b(?:{classes})\b",                                                   // a concrete kind named outside its folder
            $@"(?i)(?:[!=]=\s*|\bis\s+|\bcase\s+|Equals\([^)]*)""(?:{names})""",     // "Uld" compared with
            @"\bDeploymentKind\.(?:Plain|Uld|Offset)\b",
        };
        return patterns.SelectMany(p => Regex.Matches(line, p).Select(m => m.Value));
    }
}
