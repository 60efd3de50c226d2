using System.Text.RegularExpressions;
using System.Xml.Linq;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// The layout the README promises: apps under src/apps depend only on libraries (they talk to each other over HTTP),
/// and every component has one name — folder <c>X</c>, project and root namespace <c>Uld.X</c>, executable
/// <c>uld-x</c> (apps) or assembly <c>Uld.X</c> (libraries) — with namespaces following folders below it.
/// </summary>
public sealed partial class ProjectLayoutTests
{
    private static string Apps => Path.Combine(SharedPaths.RepositoryRoot, "src", "apps");
    private static string Libs => Path.Combine(SharedPaths.RepositoryRoot, "src", "libs");

    private static string[] Folders(string parent) => [.. Directory.GetDirectories(parent).Select(d => Path.GetFileName(d)).Order()];
    public static TheoryData<string> AppFolders() => [.. Folders(Apps)];
    public static TheoryData<string> LibFolders() => [.. Folders(Libs)];

    [Fact]
    public void The_six_apps_and_six_libraries_are_where_the_README_says()
    {
        Assert.Equal(["Bench", "Eval", "Forget", "Gateway", "LogitServer", "Trainer"], Folders(Apps));
        Assert.Equal(["Uld.Cli", "Uld.Contracts", "Uld.Evaluation", "Uld.Inference", "Uld.Tokenization", "Uld.Web"], Folders(Libs));
    }

    [Theory]
    [MemberData(nameof(AppFolders))]
    public void An_app_references_libraries_only(string folder)
    {
        var project = Project(Path.Combine(Apps, folder));
        var references = ProjectReferences(project).ToList();
        var apps = references.Where(r => r.StartsWith(Apps + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToList();
        Assert.True(apps.Count == 0, $"{folder} references app project(s) {string.Join(", ", apps)}; apps talk over HTTP or run each other as processes.");
        Assert.All(references, r => Assert.StartsWith(Libs + Path.DirectorySeparatorChar, r));
    }

    [Theory]
    [MemberData(nameof(LibFolders))]
    public void A_library_references_libraries_only(string folder)
    {
        Assert.All(ProjectReferences(Project(Path.Combine(Libs, folder))), r => Assert.StartsWith(Libs + Path.DirectorySeparatorChar, r));
    }

    [Theory]
    [MemberData(nameof(AppFolders))]
    public void An_app_is_named_Uld_Folder_and_runs_as_uld_folder(string folder)
    {
        var project = Project(Path.Combine(Apps, folder));
        Assert.Equal($"Uld.{folder}.csproj", Path.GetFileName(project));
        var xml = XDocument.Load(project);
        Assert.Equal($"uld-{folder.ToLowerInvariant()}", Property(xml, "AssemblyName"));
        Assert.Equal($"Uld.{folder}", Property(xml, "RootNamespace"));
        AssertNamespacesFollowFolders(Path.Combine(Apps, folder), $"Uld.{folder}");
    }

    [Theory]
    [MemberData(nameof(LibFolders))]
    public void A_library_is_named_after_its_folder(string folder)
    {
        var project = Project(Path.Combine(Libs, folder));
        Assert.Equal($"{folder}.csproj", Path.GetFileName(project));
        var xml = XDocument.Load(project);
        Assert.Contains(Property(xml, "AssemblyName"), new[] { null, folder });
        Assert.Contains(Property(xml, "RootNamespace"), new[] { null, folder });
        AssertNamespacesFollowFolders(Path.Combine(Libs, folder), folder);
    }

    [Fact]
    public void The_layout_check_sees_a_reference_to_an_app()
    {
        // The check above parses real project files; prove it would catch the mistake it guards against.
        var csproj = """
            <Project Sdk="Microsoft.NET.Sdk">
              <ItemGroup><ProjectReference Include="..\LogitServer\Uld.LogitServer.csproj" /></ItemGroup>
            </Project>
            """;
        var path = Path.Combine(Apps, "Bench", "Probe.csproj");
        var references = ProjectReferences(path, XDocument.Parse(csproj));
        Assert.Equal([Path.Combine(Apps, "LogitServer", "Uld.LogitServer.csproj")], references);
    }

    private static string Project(string folder) => Assert.Single(Directory.GetFiles(folder, "*.csproj"));

    private static IEnumerable<string> ProjectReferences(string project) => ProjectReferences(project, XDocument.Load(project));

    private static IEnumerable<string> ProjectReferences(string project, XDocument xml) => xml.Descendants("ProjectReference")
        .Select(e => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, e.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar))));

    private static string? Property(XDocument xml, string name) => xml.Descendants(name).SingleOrDefault()?.Value;

    /// <summary>Every file-scoped namespace is the root namespace plus the file's folder path (ASP.NET Core style).</summary>
    private static void AssertNamespacesFollowFolders(string folder, string rootNamespace)
    {
        var files = Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var wrong = new List<string>();
        foreach (var file in files)
        {
            if (NamespaceLine().Match(File.ReadAllText(file)) is not { Success: true } m) continue; // top-level Program.cs
            var relative = Path.GetRelativePath(folder, Path.GetDirectoryName(file)!);
            var expected = relative == "." ? rootNamespace : $"{rootNamespace}.{relative.Replace(Path.DirectorySeparatorChar, '.')}";
            if (m.Groups[1].Value != expected) wrong.Add($"{Path.GetRelativePath(SharedPaths.RepositoryRoot, file)}: {m.Groups[1].Value}, expected {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));
    }

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();
}
