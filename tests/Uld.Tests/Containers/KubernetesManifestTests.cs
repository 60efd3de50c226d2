using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Uld.Tests.Support;

namespace Uld.Tests.Containers;

/// <summary>
/// deploy/k8s rendered by <c>kubectl kustomize</c> for both overlays, read as objects: probes on /health, a termination
/// grace longer than the drain, the Secret and ConfigMap the pods reference, and selectors (Services, HPA, PDBs) that
/// match the pods' labels.
/// </summary>
public sealed class KubernetesManifestTests
{
    public static TheoryData<string> Overlays() => ["cpu", "gpu"];

    private static IReadOnlyList<JsonObject> Render(string overlay) => Kubectl.Kustomize($"deploy/k8s/overlays/{overlay}");

    private static JsonObject One(IReadOnlyList<JsonObject> objects, string kind, string name) =>
        Assert.Single(objects, o => Str(o["kind"]) == kind && Str(o["metadata"]!["name"]) == name);

    private static string? Str(JsonNode? node) => node?.GetValue<string>();
    private static int Int(JsonNode? node) => int.Parse(Str(node)!, CultureInfo.InvariantCulture);

    private static JsonObject Container(JsonObject deployment, string name) =>
        (JsonObject)deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single(c => Str(c!["name"]) == name)!;

    private static string? Env(JsonObject container, string name) =>
        Str(container["env"]?.AsArray().SingleOrDefault(e => Str(e!["name"]) == name)?["value"]);

    private static bool Matches(JsonNode? selector, JsonNode? labels) =>
        selector is JsonObject s && s.Count > 0 && s.All(kv => Str(labels?[kv.Key]) == Str(kv.Value));

    [KubectlTheory]
    [MemberData(nameof(Overlays))]
    public void The_LogitServer_is_probed_on_health_and_its_termination_grace_outlasts_the_drain(string overlay)
    {
        var deployment = One(Render(overlay), "Deployment", "uld-logitserver");
        var server = Container(deployment, "logitserver");
        var port = server["ports"]!.AsArray().Single(p => Str(p!["name"]) == "http")!;
        Assert.Equal(8080, Int(port["containerPort"]));
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("/health", Str(server[probe]?["httpGet"]?["path"]));
            Assert.Equal("http", Str(server[probe]!["httpGet"]!["port"]));
        }

        var drain = int.Parse(Env(server, "Drain__GracePeriodSeconds")!, CultureInfo.InvariantCulture);
        var termination = Int(deployment["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]);
        Assert.True(termination >= drain + 10, $"terminationGracePeriodSeconds {termination} leaves no time after a {drain} s drain");
        // Readiness fails at the first "draining"; liveness must not restart a replica that is still draining.
        Assert.Equal(1, Int(server["readinessProbe"]!["failureThreshold"]));
        var liveness = server["livenessProbe"]!;
        Assert.True(Int(liveness["periodSeconds"]) * Int(liveness["failureThreshold"]) > termination,
            "the liveness probe would restart a draining replica before its grace is over");
        Assert.Equal("0", Str(deployment["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]));
        Assert.Null(deployment["spec"]!["replicas"]); // owned by the HPA
    }

    [KubectlTheory]
    [MemberData(nameof(Overlays))]
    public void The_deployments_come_from_a_ConfigMap_equal_to_models_deployments_json_and_the_models_from_an_init_container(string overlay)
    {
        var objects = Render(overlay);
        var deployment = One(objects, "Deployment", "uld-logitserver");
        var pod = deployment["spec"]!["template"]!["spec"]!;
        var server = Container(deployment, "logitserver");

        // --config FILE lies in the volume of a ConfigMap that this render contains, whose file is models/deployments.json.
        var args = server["args"]!.AsArray().Select(a => Str(a)!).ToList();
        var config = args[args.IndexOf("--config") + 1];
        var mount = server["volumeMounts"]!.AsArray().Single(m => config.StartsWith(Str(m!["mountPath"])! + "/", StringComparison.Ordinal))!;
        var volume = pod["volumes"]!.AsArray().Single(v => Str(v!["name"]) == Str(mount["name"]))!;
        var configMap = One(objects, "ConfigMap", Str(volume["configMap"]!["name"])!);
        var file = Path.GetFileName(config);
        var served = JsonNode.Parse(Str(configMap["data"]![file])!);
        var repository = JsonNode.Parse(File.ReadAllText(Path.Combine(SharedPaths.RepositoryRoot, "models", "deployments.json")));
        Assert.True(JsonNode.DeepEquals(repository, served), "deploy/k8s/base/deployments.json differs from models/deployments.json");

        // Its model paths are relative to /app (the images' WORKDIR): the models volume is mounted at /app/models and
        // filled by an init container from the same volume.
        var models = server["volumeMounts"]!.AsArray().Single(m => Str(m!["mountPath"]) == "/app/models")!;
        Assert.Equal("true", Str(models["readOnly"]));
        var modelPaths = served!["LogitServer"]!["Deployments"]!.AsArray()
            .SelectMany(d => new[] { "Model", "Base", "Assistant" }.Select(k => Str(d![k])).OfType<string>()).ToList();
        Assert.NotEmpty(modelPaths);
        Assert.All(modelPaths, p => Assert.StartsWith("models/", p));
        var init = Assert.Single(pod["initContainers"]!.AsArray())!;
        Assert.Equal(Str(server["image"]), Str(init["image"]));
        var initMount = init["volumeMounts"]!.AsArray().Single(m => Str(m!["name"]) == Str(models["name"]))!;
        Assert.Equal(["cp", "-a", "/app/models/.", Str(initMount["mountPath"]) + "/"], init["command"]!.AsArray().Select(a => Str(a)));
    }

    [KubectlTheory]
    [MemberData(nameof(Overlays))]
    public void The_gateway_reads_its_key_from_the_Secret_the_docs_create_and_finds_replicas_through_the_headless_Service(string overlay)
    {
        var objects = Render(overlay);
        var gateway = Container(One(objects, "Deployment", "uld-gateway"), "gateway");
        var hash = gateway["env"]!.AsArray().Single(e => Str(e!["name"]) == "Gateway__ApiKeys__0__Sha256")!;
        var secret = hash["valueFrom"]!["secretKeyRef"]!;
        Assert.Null(hash["value"]); // never a hash in the manifests
        Assert.DoesNotContain(objects, o => Str(o["kind"]) == "Secret");
        // The operator's commands as docs/OPERATIONS.md gives them: the Secret they create is the one the gateway reads,
        // and every overlay they apply exists, this one among them.
        var operations = File.ReadAllText(Path.Combine(SharedPaths.RepositoryRoot, "docs", "OPERATIONS.md"));
        var created = Regex.Matches(operations, @"kubectl create secret generic (?<name>[\w-]+) --from-literal=(?<key>[\w-]+)=")
            .Select(m => (m.Groups["name"].Value, m.Groups["key"].Value)).ToList();
        Assert.Equal((Str(secret["name"]), Str(secret["key"])), Assert.Single(created));
        var applied = Regex.Matches(operations, @"kubectl apply -k (?<path>[\w/.-]+)").Select(m => m.Groups["path"].Value).ToList();
        Assert.Contains($"deploy/k8s/overlays/{overlay}", applied);
        Assert.All(applied, path => Assert.True(File.Exists(Path.Combine(SharedPaths.RepositoryRoot, path, "kustomization.yaml")), $"docs/OPERATIONS.md applies {path}, which has no kustomization.yaml"));

        var headless = One(objects, "Service", "uld-logitserver-replicas");
        Assert.Equal("None", Str(headless["spec"]!["clusterIP"]));
        var service = new Uri(Env(gateway, "Gateway__Clusters__default__ReplicaService")!);
        Assert.Equal(Str(headless["metadata"]!["name"]), service.Host);
        Assert.Equal(service.Port, Int(headless["spec"]!["ports"]![0]!["port"]));
        Assert.Equal("/health", Str(gateway["readinessProbe"]!["httpGet"]!["path"]));
        Assert.Equal("tcpSocket", Assert.Single(gateway["livenessProbe"]!.AsObject(), kv => kv.Key is "httpGet" or "tcpSocket" or "exec").Key);

        // A stopping gateway: the preStop pause, then up to the host's 30 s shutdown timeout for its streams.
        var pause = Int(gateway["lifecycle"]!["preStop"]!["exec"]!["command"]!.AsArray().Last());
        var grace = Int(One(objects, "Deployment", "uld-gateway")["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]);
        Assert.True(grace >= pause + 30, $"terminationGracePeriodSeconds {grace} < {pause} s pause + 30 s shutdown");
    }

    [KubectlTheory]
    [MemberData(nameof(Overlays))]
    public void Services_the_autoscaler_and_the_disruption_budgets_select_the_pods_they_mean(string overlay)
    {
        var objects = Render(overlay);
        foreach (var name in new[] { "uld-logitserver", "uld-gateway" })
        {
            var deployment = One(objects, "Deployment", name);
            var podLabels = deployment["spec"]!["template"]!["metadata"]!["labels"];
            Assert.True(Matches(deployment["spec"]!["selector"]!["matchLabels"], podLabels), $"{name}: its selector does not match its pods");
            var pdb = One(objects, "PodDisruptionBudget", name);
            Assert.True(Matches(pdb["spec"]!["selector"]!["matchLabels"], podLabels), $"PDB {name} selects none of its pods");
            var other = name == "uld-gateway" ? "uld-logitserver" : "uld-gateway";
            Assert.False(Matches(pdb["spec"]!["selector"]!["matchLabels"], One(objects, "Deployment", other)["spec"]!["template"]!["metadata"]!["labels"]));
        }
        var logitServerPods = One(objects, "Deployment", "uld-logitserver")["spec"]!["template"]!["metadata"]!["labels"];
        Assert.True(Matches(One(objects, "Service", "uld-logitserver-replicas")["spec"]!["selector"], logitServerPods));
        Assert.True(Matches(One(objects, "Service", "uld-gateway")["spec"]!["selector"], One(objects, "Deployment", "uld-gateway")["spec"]!["template"]!["metadata"]!["labels"]));

        var hpa = One(objects, "HorizontalPodAutoscaler", "uld-logitserver");
        var target = hpa["spec"]!["scaleTargetRef"]!;
        Assert.Equal("Deployment", Str(target["kind"]));
        One(objects, Str(target["kind"])!, Str(target["name"])!);
        Assert.True(Int(hpa["spec"]!["minReplicas"]) >= 1 && Int(hpa["spec"]!["maxReplicas"]) > Int(hpa["spec"]!["minReplicas"]));
        Assert.Equal("cpu", Str(hpa["spec"]!["metrics"]![0]!["resource"]!["name"]));
    }

    [KubectlFact]
    public void The_overlays_differ_in_image_and_GPU_only()
    {
        var cpu = Container(One(Render("cpu"), "Deployment", "uld-logitserver"), "logitserver");
        var gpu = Container(One(Render("gpu"), "Deployment", "uld-logitserver"), "logitserver");
        Assert.StartsWith("uldserver/logitserver:", Str(cpu["image"]));
        Assert.StartsWith("uldserver/logitserver-gpu:", Str(gpu["image"]));
        Assert.Null(cpu["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal("1", Str(gpu["resources"]!["limits"]!["nvidia.com/gpu"]));
        foreach (var container in new[] { cpu, gpu })
        {
            // requests = limits: the CPU limit is the processor count the threading plan sizes ONNX Runtime by.
            Assert.Equal(Str(container["resources"]!["requests"]!["cpu"]), Str(container["resources"]!["limits"]!["cpu"]));
            Assert.Equal(Str(container["resources"]!["requests"]!["memory"]), Str(container["resources"]!["limits"]!["memory"]));
            Assert.Equal("9090", Env(container, "Metrics__Port"));
        }
    }
}
