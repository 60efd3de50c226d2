using Uld.Contracts.Models;
using Uld.Inference;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>
/// Loads a ULD deployment's fused graph (<c>uld-trainer fuse</c>) and checks that it was built from exactly the
/// configured base and assistant: its metadata names the sha256 of both ONNX files, which the manifests list.
/// </summary>
public static class FusedUldGraph
{
    public static ModelSessionLease Load(DeploymentOptions d, ModelDirectory baseDir, ModelDirectory assistantDir, Func<string, ModelSessionLease> open)
    {
        var path = Path.GetFullPath(d.Fused!);
        var lease = open(path);
        var model = lease.Model;
        try
        {
            if (!model.IsFusedUld)
                throw new DeploymentConfigurationException($"deployment '{d.Name}': Fused {path} is not a fused ULD graph (no {OnnxCausalLm.AlphaInput} input).");
            Expect(d, path, model, OnnxCausalLm.FusedBaseHashKey, baseDir, "base");
            Expect(d, path, model, OnnxCausalLm.FusedAssistantHashKey, assistantDir, "assistant");
            return lease;
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private static void Expect(DeploymentOptions d, string path, OnnxCausalLm model, string key, ModelDirectory dir, string role)
    {
        var expected = dir.Manifest.Files.GetValueOrDefault(ModelDirectory.OnnxFile);
        var recorded = model.Metadata.GetValueOrDefault(key);
        if (expected is null || recorded != expected)
            throw new DeploymentConfigurationException(
                $"deployment '{d.Name}': Fused {path} was not built from this {role} ({dir.OnnxPath} sha256 {expected ?? "unknown"}, the graph records {recorded ?? "nothing"}); run uld-trainer fuse again.");
    }
}
