using System.Text.RegularExpressions;
using System.Xml.Linq;
using Uld.Tests.Support;

namespace Uld.Tests.Containers;

/// <summary>
/// The Dockerfiles and compose.yaml as a user runs them, checked by reading them (no Docker here): the CPU file never
/// reaches a GPU stage, its default target serves the baked models, every app restores in a layer of its own from its
/// project files, the services have health checks, and compose works without the API key variable.
/// </summary>
public sealed partial class ContainerBuildTests
{
    private static string Root => SharedPaths.RepositoryRoot;
    private static Dockerfile Cpu => Dockerfile.Read(Path.Combine(Root, "Dockerfile"));
    private static Dockerfile Gpu => Dockerfile.Read(Path.Combine(Root, "Dockerfile.gpu"));
    private static string Compose => File.ReadAllText(Path.Combine(Root, "compose.yaml"));

    [Fact]
    public void No_stage_of_the_CPU_Dockerfile_builds_or_pulls_anything_for_the_GPU()
    {
        foreach (var stage in Cpu.Stages)
        {
            Assert.DoesNotContain("cuda", stage.From, StringComparison.OrdinalIgnoreCase);
            Assert.All(stage.Instructions, i => Assert.DoesNotContain("UldGpu", i.Arguments));
            Assert.All(stage.Arguments("COPY"), a => Assert.DoesNotContain("cuda", a, StringComparison.OrdinalIgnoreCase));
        }
        Assert.Contains(Gpu.Stages, s => s.From.StartsWith("nvidia/cuda:", StringComparison.Ordinal));
        Assert.Contains(Gpu.Stages.SelectMany(s => s.Arguments("RUN")), r => r.Contains("-p:UldGpu=true"));
    }

    [Fact]
    public void The_classic_builder_builds_nothing_but_the_gateway_for_the_gateway_target()
    {
        // The classic builder runs every stage above the target: those above "gateway" must all be its own.
        var cpu = Cpu;
        var above = cpu.Stages.TakeWhile(s => s.Name != "gateway").Select(s => s.Name).ToList();
        Assert.Subset(cpu.Closure("gateway"), above.ToHashSet());
        Assert.Equal("logitserver", cpu.Stages[^1].Name); // `docker build .` builds the LogitServer
        Assert.Equal(["gateway", "logitserver", "trainer"], cpu.Stages.Where(s => !s.From.Contains("/sdk:")).Select(s => s.Name).Order());
    }

    [Theory]
    [InlineData("Dockerfile", "logitserver")]
    [InlineData("Dockerfile.gpu", "logitserver-gpu")]
    public void The_LogitServer_image_serves_its_baked_models_by_default(string file, string stage)
    {
        var image = Dockerfile.Read(Path.Combine(Root, file))[stage];
        // models/deployments.json names "models/tofu-mini-target" etc., relative to the working directory.
        Assert.Equal("/app", image.Arguments("WORKDIR").Last());
        Assert.Contains("models/ /app/models/", image.Arguments("COPY"));
        Assert.Equal("[\"--config\", \"models/deployments.json\"]", image.Arguments("CMD").Single());
        Assert.Equal("[\"dotnet\", \"uld-logitserver.dll\"]", image.Arguments("ENTRYPOINT").Single());
        Assert.All(image.Arguments("COPY"), a => Assert.DoesNotMatch(@"\s/models/?$", a));
    }

    [Theory]
    [InlineData("Dockerfile", "gateway", "uld-gateway.dll")]
    [InlineData("Dockerfile", "logitserver", "uld-logitserver.dll")]
    [InlineData("Dockerfile.gpu", "logitserver-gpu", "uld-logitserver.dll")]
    public void Each_service_image_checks_its_own_health_and_keeps_metrics_off_the_API_port(string file, string stage, string dll)
    {
        var image = Dockerfile.Read(Path.Combine(Root, file))[stage];
        var check = Assert.Single(image.Arguments("HEALTHCHECK"));
        Assert.EndsWith($"CMD [\"dotnet\", \"{dll}\", \"health\"]", check);
        Assert.Contains(image.Arguments("ENV"), e => e.Contains("Metrics__Port=9090"));
        // The base image's port is not set again (ASP.NET Core warns when URLS overrides HTTP_PORTS).
        Assert.All(image.Arguments("ENV"), e => Assert.DoesNotContain("ASPNETCORE_URLS", e));
    }

    [Theory]
    [InlineData("Dockerfile", "gateway-build", "Gateway")]
    [InlineData("Dockerfile", "trainer-build", "Trainer")]
    [InlineData("Dockerfile", "logitserver-build", "LogitServer")]
    [InlineData("Dockerfile.gpu", "build", "LogitServer")]
    public void Each_app_restores_from_exactly_its_project_files_before_any_source_is_copied(string file, string stage, string app)
    {
        var instructions = Dockerfile.Read(Path.Combine(Root, file))[stage].Instructions;
        var restore = instructions.ToList().FindIndex(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore > 0, "no restore step");
        Assert.Contains($"src/apps/{app}/Uld.{app}.csproj", instructions[restore].Arguments);
        var copiedBefore = instructions.Take(restore).Where(i => i.Keyword == "COPY").SelectMany(i => i.Arguments.Split(' ')[..^1]).ToHashSet();
        Assert.All(copiedBefore, f => Assert.Matches(@"(\.csproj|\.props)$", f));
        var expected = ProjectClosure(Path.Combine(Root, "src", "apps", app, $"Uld.{app}.csproj"))
            .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/')).Append("Directory.Build.props").Append("Directory.Packages.props");
        Assert.Equal(expected.Order(), copiedBefore.Order());

        // After the restore: the same projects' sources, then a publish that does not restore again.
        var copiedAfter = instructions.Skip(restore).Where(i => i.Keyword == "COPY").Select(i => i.Arguments.Split(' ')[0].TrimEnd('/')).ToHashSet();
        Assert.Equal(copiedBefore.Where(f => f.EndsWith(".csproj", StringComparison.Ordinal)).Select(f => Path.GetDirectoryName(f)!.Replace('\\', '/')).Order(), copiedAfter.Order());
        Assert.Contains(instructions.Skip(restore), i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish") && i.Arguments.Contains("--no-restore"));
    }

    [Fact]
    public void The_build_context_leaves_out_build_outputs_history_and_tests()
    {
        var ignored = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var entry in new[] { "**/bin/", "**/obj/", "artifacts/", ".git/", "tests/" }) Assert.Contains(entry, ignored);
        // Nothing a Dockerfile copies is ignored.
        foreach (var copy in Cpu.Stages.Concat(Gpu.Stages).SelectMany(s => s.Arguments("COPY")).Where(a => !a.StartsWith("--from", StringComparison.Ordinal)))
        {
            foreach (var source in copy.Split(' ')[..^1])
            {
                Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"COPY {source}: no such path");
                Assert.DoesNotContain(ignored, i => source.StartsWith(i.TrimStart('*', '/'), StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public void Compose_needs_no_variable_for_commands_other_than_up_and_waits_for_healthy_replicas()
    {
        var compose = Compose;
        Assert.DoesNotMatch(@"\$\{[^}]*:\?", compose); // a required variable breaks stop, logs, ps …
        Assert.Contains("${ULD_API_KEY_SHA256:-}", compose);
        Assert.Contains("ULD_API_KEY_SHA256=", File.ReadAllText(Path.Combine(Root, ".env.example")));
        Assert.Contains(".env", File.ReadAllLines(Path.Combine(Root, ".gitignore")));

        Assert.Matches(@"logitserver:\s*\{\s*condition:\s*service_healthy\s*\}", compose);
        Assert.Contains("test: [ \"CMD\", \"dotnet\", \"uld-logitserver.dll\", \"health\" ]", compose);
        Assert.Contains("test: [ \"CMD\", \"dotnet\", \"uld-gateway.dll\", \"health\" ]", compose);
        // The gateway finds the scaled replicas through the service's name, on the port the image listens on.
        Assert.Contains("Gateway__Clusters__default__ReplicaService: http://logitserver:8080", compose);
        Assert.DoesNotContain("Replicas__", compose);
        var stopGrace = int.Parse(StopGracePeriod().Match(compose).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(stopGrace > 30, "compose must give a replica longer than its 30 s drain before it kills it");
    }

    /// <summary>The project and every project it references, transitively.</summary>
    private static IEnumerable<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>([Path.GetFullPath(project)]);
        while (todo.TryPop(out var next))
        {
            if (!seen.Add(next)) continue;
            foreach (var reference in XDocument.Load(next).Descendants("ProjectReference"))
                todo.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(next)!, reference.Attribute("Include")!.Value.Replace('\\', '/'))));
        }
        return seen;
    }

    [GeneratedRegex(@"stop_grace_period:\s*(\d+)s")]
    private static partial Regex StopGracePeriod();
}
