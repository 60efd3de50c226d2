using System.Text.RegularExpressions;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// The tests are where a newcomer looks for them: tests/Uld.Tests mirrors src. A test of
/// <c>src/apps/LogitServer/Engine/X.cs</c> lives in <c>LogitServer/Engine/</c>, one of
/// <c>src/libs/Uld.Inference/Sampling/Y.cs</c> in <c>Inference/Sampling/</c> (libraries without their <c>Uld.</c>
/// prefix), and its namespace is <c>Uld.Tests.</c> plus its folder path. Only the cross-cutting folders below have no
/// src folder of their own.
/// </summary>
public sealed partial class TestLayoutTests
{
    /// <summary>The folders that mirror nothing in src, and what belongs in each.</summary>
    public static readonly IReadOnlyDictionary<string, string> CrossCutting = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["EndToEnd"] = "the running stack across apps (several processes, the default models, a whole forget request)",
        ["Structure"] = "the repository itself: project layout, docs, README, the CLI reference",
        ["Support"] = "fixtures and helpers tests of several folders share",
        ["Containers"] = "Dockerfile, Dockerfile.gpu, compose.yaml and deploy/, which live outside src",
    };

    private static string TestsRoot => Path.Combine(SharedPaths.RepositoryRoot, "tests", "Uld.Tests");
    private static string Src => Path.Combine(SharedPaths.RepositoryRoot, "src");

    [Fact]
    public void Every_test_file_sits_in_the_folder_of_the_src_code_it_tests_with_the_namespace_of_its_folder()
    {
        var files = Directory.EnumerateFiles(TestsRoot, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(TestsRoot, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => !f.StartsWith("bin/", StringComparison.Ordinal) && !f.StartsWith("obj/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(files.Count > 100, $"only {files.Count} files found under {TestsRoot}; is the walk right?");
        var problems = files.SelectMany(f => Problems(f, File.ReadAllText(Path.Combine(TestsRoot, f)))).ToList();
        Assert.True(problems.Count == 0, Environment.NewLine + string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_test_that_reads_the_process_wide_console_runs_in_the_torchsharp_collection()
    {
        // ConsoleCapture swaps AnsiConsole.Console for the whole process: a class doing so in parallel with the CLI tests
        // of TorchSharpCollection redirects their output (and their progress bars) mid-run.
        var offenders = Directory.EnumerateFiles(TestsRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/Support/", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f) is var text && text.Contains("ConsoleCapture.", StringComparison.Ordinal)
                && !text.Contains("[Collection(TorchSharpCollection.Name)]", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(TestsRoot, f)).ToList();
        Assert.True(offenders.Count == 0, "use ConsoleCapture only in [Collection(TorchSharpCollection.Name)]: " + string.Join(", ", offenders));
    }

    [Fact]
    public void A_test_folder_names_one_src_folder()
    {
        // LogitServer → src/apps/LogitServer, Inference → src/libs/Uld.Inference: unambiguous only while no app is named
        // like a library without its prefix, and no cross-cutting folder like either.
        var apps = Directory.GetDirectories(Path.Combine(Src, "apps")).Select(d => Path.GetFileName(d)!).ToList();
        var libs = Directory.GetDirectories(Path.Combine(Src, "libs")).Select(d => Path.GetFileName(d)!).ToList();
        Assert.All(libs, l => Assert.StartsWith("Uld.", l));
        var names = apps.Concat(libs.Select(l => l["Uld.".Length..])).Concat(CrossCutting.Keys).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Theory]
    [InlineData("LogitServer/Engine/BatchSchedulerTests.cs", "namespace Uld.Tests.LogitServer.Engine;")]
    [InlineData("LogitServer/Deployments/Kinds/UldKindTests.cs", "namespace Uld.Tests.LogitServer.Deployments.Kinds;")]
    [InlineData("Inference/Sampling/UldLogitsTests.cs", "namespace Uld.Tests.Inference.Sampling;")]
    [InlineData("Web/HealthCommandTests.cs", "namespace Uld.Tests.Web;")]
    [InlineData("Gateway/GatewayLoggingTests.cs", "namespace Uld.Tests.Gateway;")]
    [InlineData("EndToEnd/ForgetEndToEndTests.cs", "namespace Uld.Tests.EndToEnd;")]
    [InlineData("AssemblyInfo.cs", "[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass)]")]
    public void The_check_accepts_a_file_where_src_has_its_code(string file, string source)
    {
        Assert.Empty(Problems(file, source));
    }

    [Theory]
    [InlineData("Server/AdmissionTests.cs", "namespace Uld.Tests.Server;", "Server/ mirrors no src folder")]
    [InlineData("Engine/BatchSchedulerTests.cs", "namespace Uld.Tests.Engine;", "Engine/ mirrors no src folder")]
    [InlineData("LogitServer/Scheduling/XTests.cs", "namespace Uld.Tests.LogitServer.Scheduling;", "LogitServer/Scheduling/ mirrors no src folder")]
    [InlineData("logitserver/Engine/XTests.cs", "namespace Uld.Tests.logitserver.Engine;", "logitserver/Engine/ mirrors no src folder")]
    [InlineData("Uld.Inference/XTests.cs", "namespace Uld.Tests.Uld.Inference;", "Uld.Inference/ mirrors no src folder")]
    [InlineData("LogitServer/Engine/XTests.cs", "namespace Uld.Tests.LogitServer;", "namespace Uld.Tests.LogitServer, expected Uld.Tests.LogitServer.Engine")]
    [InlineData("LogitServer/Engine/XTests.cs", "namespace Uld.Tests.LogitServer.Engine { }", null)]
    [InlineData("LogitServer/Engine/XTests.cs", "namespace Uld.Tests.Server.Engine { }", "namespace Uld.Tests.Server.Engine, expected Uld.Tests.LogitServer.Engine")]
    [InlineData("Trainer/Training/XTests.cs", "public sealed class XTests;", "declares no namespace, expected Uld.Tests.Trainer.Training")]
    [InlineData("XTests.cs", "namespace Uld.Tests;", "the root holds assembly attributes only")]
    public void The_check_refuses_a_file_outside_the_mirror_or_in_another_namespace(string file, string source, string? expected)
    {
        var problems = Problems(file, source);
        if (expected is null) { Assert.Empty(problems); return; }
        Assert.Contains(problems, p => p.StartsWith(file + ": ", StringComparison.Ordinal) && p.Contains(expected, StringComparison.Ordinal));
    }

    /// <summary>What is wrong with <paramref name="file"/> (relative to tests/Uld.Tests, '/'-separated) holding <paramref name="source"/>.</summary>
    internal static IEnumerable<string> Problems(string file, string source)
    {
        var declared = NamespaceDeclaration().Match(source) is { Success: true } m ? m.Groups[1].Value : null;
        var slash = file.LastIndexOf('/');
        if (slash < 0)
        {
            if (declared is not null) yield return $"{file}: the root holds assembly attributes only; put {declared} in the folder of the src code it tests";
            yield break;
        }
        var folder = file[..slash];
        var top = folder.Split('/')[0];
        if (!CrossCutting.ContainsKey(top) && MirroredSourceFolder(folder) is null)
        {
            yield return $"{file}: {folder}/ mirrors no src folder (src/apps/{folder} or src/libs/Uld.{folder}) and is not one of the cross-cutting folders "
                + $"{string.Join(", ", CrossCutting.Keys)}; move it to the folder of the code it tests";
        }
        var expected = "Uld.Tests." + folder.Replace('/', '.');
        if (declared is null) yield return $"{file}: declares no namespace, expected {expected}";
        else if (declared != expected) yield return $"{file}: namespace {declared}, expected {expected}";
    }

    /// <summary>The src folder <paramref name="folder"/> mirrors, every segment spelt exactly as on disk; null if none.</summary>
    internal static string? MirroredSourceFolder(string folder)
    {
        var segments = folder.Split('/');
        foreach (var start in new[] { Path.Combine(Src, "apps", segments[0]), Path.Combine(Src, "libs", "Uld." + segments[0]) })
        {
            if (!HasChild(Path.GetDirectoryName(start)!, Path.GetFileName(start))) continue;
            var current = start;
            var found = true;
            foreach (var segment in segments.Skip(1))
            {
                if (!HasChild(current, segment)) { found = false; break; }
                current = Path.Combine(current, segment);
            }
            if (found) return current;
        }
        return null;
    }

    /// <summary>Whether <paramref name="parent"/> has a subfolder named exactly <paramref name="name"/> (case counts, whatever the file system).</summary>
    private static bool HasChild(string parent, string name) =>
        Directory.Exists(parent) && Directory.GetDirectories(parent).Any(d => string.Equals(Path.GetFileName(d), name, StringComparison.Ordinal));

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*[;{]", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();
}
