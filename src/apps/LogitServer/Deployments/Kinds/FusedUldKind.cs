using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// ULD served from one fused graph (<c>uld-trainer fuse</c>): base and assistant in a single ONNX session that takes
/// each row's α and returns l_base − α·l_assistant beside l_base, so a step is one session run. The base and assistant
/// directories are still opened and verified — the graph must have been built from exactly their ONNX files — but
/// only the graph is loaded. It holds one assistant, so <c>Assistants</c> is refused.
/// </summary>
public sealed class FusedUldKind : UldPolicyKind
{
    /// <summary>The ULD entries with a <c>Fused</c> graph.</summary>
    public override bool Selects(DeploymentOptions d) => !string.IsNullOrWhiteSpace(d.Fused);

    public override IReadOnlyList<string> Settings { get; } = [.. PolicySettings, nameof(DeploymentOptions.Fused)];

    protected override string? OwnProblem(DeploymentOptions d, SettingPath at)
    {
        if (!File.Exists(d.Fused)) return $"{at.Key}:Fused {at.Where}: fused graph {d.Fused} does not exist.";
        if (d.Assistants is not null)
            return $"{at.Key}:Fused {at.Where}: a fused graph holds one assistant; it cannot serve Assistants (use Assistant, or drop Fused).";
        return null;
    }

    public override IReadOnlyList<ModelRole> Models(DeploymentOptions d) => [new("base", d.Base ?? ""), new(AssistantRole(0), d.Assistant ?? "")];

    /// <summary>Neither directory is loaded as a session of its own: the fused graph is.</summary>
    public override IReadOnlyList<ModelRole> SessionModels(DeploymentOptions d) => [];

    public override bool BaseTakesAlpha => true;

    /// <summary>The fused graph is the one session; it has no serving-graph counterpart.</summary>
    public override bool RunsServingGraph => false;

    /// <summary>The fused graph as the base session, once it is shown to have been built from these base and assistant files.</summary>
    public override KindSessions OpenSessions(DeploymentOptions served, IReadOnlyList<OpenedModel> models, SessionOpener open)
    {
        var (baseModel, assistant) = (models[0], models[1]);
        open.Record(baseModel);
        open.Record(assistant);
        var path = Path.GetFullPath(served.Fused!);
        var lease = open.File("fused", path, baseModel.Directory.Config.VocabSize, besideOthers: false);
        try
        {
            if (!lease.Model.IsFusedUld)
                throw new DeploymentConfigurationException($"deployment '{served.Name}': Fused {path} is not a fused ULD graph (no {OnnxCausalLm.AlphaInput} input).");
            ExpectBuiltFrom(served, path, lease.Model, OnnxCausalLm.FusedBaseHashKey, baseModel.Directory, "base");
            ExpectBuiltFrom(served, path, lease.Model, OnnxCausalLm.FusedAssistantHashKey, assistant.Directory, "assistant");
            return new KindSessions(lease, []);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>The graph's metadata names the sha256 of the ONNX file it was built from, which the directory's manifest lists.</summary>
    private static void ExpectBuiltFrom(DeploymentOptions d, string path, OnnxCausalLm model, string key, ModelDirectory dir, string role)
    {
        var expected = dir.Manifest.Files.GetValueOrDefault(ModelDirectory.OnnxFile);
        var recorded = model.Metadata.GetValueOrDefault(key);
        if (expected is null || recorded != expected)
            throw new DeploymentConfigurationException(
                $"deployment '{d.Name}': Fused {path} was not built from this {role} ({dir.OnnxPath} sha256 {expected ?? "unknown"}, the graph records {recorded ?? "nothing"}); run uld-trainer fuse again.");
    }

    /// <summary>The graph already computed l_base − α·l_assistant with the row's α; the rule masks and, for SuppressOnly, recovers l_assistant from it.</summary>
    public override void Combine(DeploymentOptions served, DecoderStep baseStep, IReadOnlyList<DecoderStep> companions, int row, int position,
        SamplingParameters parameters, Span<float> logits) =>
        UldLogits.CombineFusedLogits(baseStep.Row(row, position), baseStep.UldRow(row, position), parameters.Alpha, parameters.RelativeTop, logits,
            served.DecodeRule);
}
