using System.Diagnostics;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Uld.Tests.Support;

/// <summary>
/// <c>kubectl kustomize</c> (offline: it only renders) and the rendered objects as JSON nodes. CI machines have kubectl;
/// where it is missing, the tests that need it are skipped with a message saying so (<see cref="KubectlFactAttribute"/>).
/// </summary>
public static class Kubectl
{
    public static string? Path { get; } = ExecutableSearch.OnPath("kubectl");

    public const string MissingMessage = "kubectl is not on PATH, so deploy/k8s cannot be rendered here; install kubectl to run these tests.";

    public static IReadOnlyList<JsonObject> Kustomize(string directory)
    {
        Assert.True(Path is not null, MissingMessage);
        var start = new ProcessStartInfo(Path, ["kustomize", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = SharedPaths.RepositoryRoot,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "kubectl kustomize did not finish within 60 s");
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {directory} failed: {error.Result}");
        return ParseYaml(output.Result);
    }

    /// <summary>Every document of a YAML stream as JSON (scalars stay strings, as YAML wrote them).</summary>
    public static IReadOnlyList<JsonObject> ParseYaml(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => (JsonObject)ToJson(d.RootNode)!).ToList();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => scalar.Value is null ? null : JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };
}

/// <summary>A fact that needs kubectl: skipped, saying why, where it is not installed.</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (Kubectl.Path is null) Skip = Kubectl.MissingMessage;
    }
}

/// <summary>A theory that needs kubectl: skipped, saying why, where it is not installed.</summary>
public sealed class KubectlTheoryAttribute : TheoryAttribute
{
    public KubectlTheoryAttribute()
    {
        if (Kubectl.Path is null) Skip = Kubectl.MissingMessage;
    }
}
