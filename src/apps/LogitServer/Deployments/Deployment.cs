using Uld.Contracts.Models;
using Uld.Inference;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tokenization;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// A loaded deployment: its kind, the settings it is served with, its sessions, tokenizer and context size. What
/// differs between kinds — the rule, the request controls, the published policy — is asked of <see cref="Kind"/>.
/// Holds leases on sessions that other deployments over the same model files share (<see cref="ModelSessionCache"/>).
/// </summary>
public sealed class Deployment : IDisposable
{
    public required DeploymentKind Kind { get; init; }
    /// <summary>
    /// The settings it is served with: the configured ones, with what loading resolved filled in
    /// (<see cref="DeploymentKind.Serve"/>; a ULD deployment's α default).
    /// </summary>
    public required DeploymentOptions Options { get; init; }
    public required ModelDirectory BaseDirectory { get; init; }
    /// <summary>The base's session, or a fused ULD graph; null when the deployment serves its serving graph (<see cref="ServingSession"/>).</summary>
    public required ModelSessionLease? BaseSession { get; init; }
    /// <summary>
    /// The session of the base's serving graph with its in-place KV cache (docs/DESIGN.md, *The serving graph and its
    /// slot cache*), when the deployment runs on it instead of <see cref="BaseSession"/>.
    /// </summary>
    public ServingSessionLease? ServingSession { get; init; }
    /// <summary>With <see cref="ServingSession"/>: the companions' serving graphs, in the order of <see cref="CompanionSessions"/>.</summary>
    public IReadOnlyList<ServingSessionLease> ServingCompanionSessions { get; init; } = [];
    /// <summary>
    /// The sessions that run in lockstep with the base, each with its own KV cache, in the order the kind's rule reads
    /// them: a ULD deployment's assistants, an offset deployment's unlearned and reference models; none for the others.
    /// </summary>
    public IReadOnlyList<ModelSessionLease> CompanionSessions { get; init; } = [];
    public required ModelTokenizer Tokenizer { get; init; }
    public required ChatTemplate ChatTemplate { get; init; }

    public OnnxCausalLm BaseModel => BaseSession?.Model ?? throw new InvalidOperationException($"deployment '{Name}' runs its serving graph, not a Contract 2 session.");
    public ServingCausalLm? ServingModel => ServingSession?.Model;
    public IReadOnlyList<ServingCausalLm> ServingCompanions => ServingCompanionSessions.Select(s => s.Model).ToList();
    /// <summary>Entries of the logits the deployment's sessions compute.</summary>
    public int Vocab => ServingModel?.Vocab ?? BaseModel.Vocab;
    /// <summary>The models of <see cref="CompanionSessions"/>.</summary>
    public IReadOnlyList<OnnxCausalLm> CompanionModels => _companions ??= CompanionSessions.Select(s => s.Model).ToList();
    private IReadOnlyList<OnnxCausalLm>? _companions;
    public string Name => Options.Name;
    public int ContextLength => ContextOf(BaseDirectory);
    /// <summary>The context a model directory is served with: generation_config's max_length, else the model's maximum.</summary>
    public static int ContextOf(ModelDirectory directory) => directory.Generation.MaxLength ?? directory.Config.MaxPositionEmbeddings;
    public int? EosId => BaseDirectory.Generation.EosTokenId ?? Tokenizer.Ids.Eos;

    public void Dispose()
    {
        BaseSession?.Dispose();
        ServingSession?.Dispose();
        foreach (var companion in ServingCompanionSessions) companion.Dispose();
        foreach (var companion in CompanionSessions) companion.Dispose();
    }
}
