using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Tokenization;
using Uld.Inference;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// A loaded deployment: its sessions, tokenizer, context size and α (ULD) or β (offset) policy. Holds leases on sessions that other
/// deployments over the same model files share (<see cref="ModelSessionCache"/>).
/// </summary>
public sealed class Deployment : IDisposable
{
    public required DeploymentOptions Options { get; init; }
    public required ModelDirectory BaseDirectory { get; init; }
    /// <summary>The base's session, or a ULD pair's fused graph (then <see cref="AssistantSessions"/> is empty).</summary>
    public required ModelSessionLease BaseSession { get; init; }
    /// <summary>ULD: the assistants run beside the base, in the order configured (one, or several summed).</summary>
    public IReadOnlyList<ModelSessionLease> AssistantSessions { get; init; } = [];
    /// <summary>w of each of <see cref="AssistantSessions"/>: the weight of its penalty in the sum α scales (1 for a lone <c>Assistant</c>).</summary>
    public IReadOnlyList<float> AssistantWeights { get; init; } = [];
    /// <summary>Offset: the small model before unlearning.</summary>
    public ModelSessionLease? ReferenceSession { get; init; }
    /// <summary>Offset: the small model after unlearning.</summary>
    public ModelSessionLease? UnlearnedSession { get; init; }
    public required ModelTokenizer Tokenizer { get; init; }
    public required ChatTemplate ChatTemplate { get; init; }
    /// <summary>ULD: α when a request names none — configured, or the assistant's calibrated α (<see cref="DeploymentOptions.AlphaDefault"/>).</summary>
    public double AlphaDefault { get; init; }

    public OnnxCausalLm BaseModel => BaseSession.Model;
    /// <summary>The (first) assistant's session model; null for a fused graph and other kinds.</summary>
    public OnnxCausalLm? AssistantModel => AssistantSessions.Count > 0 ? AssistantSessions[0].Model : null;
    public string Name => Options.Name;
    /// <summary>A ULD deployment: base and assistant sessions, or one fused graph in <see cref="BaseModel"/>.</summary>
    public bool IsUld => AssistantSessions.Count > 0 || BaseModel.IsFusedUld;
    /// <summary>
    /// ULD with several assistants, or one whose weight is not 1: the penalties are weighted and summed before α scales
    /// them; a lone assistant at weight 1 takes the direct two-model path.
    /// </summary>
    public bool SumsAssistants => AssistantWeights.Count > 1 || AssistantWeights.Any(w => w != 1);
    /// <summary>Offset unlearning: base + β·(unlearned − reference).</summary>
    public bool IsOffset => UnlearnedSession is not null;

    /// <summary>
    /// The sessions that run in lockstep with the base, each with its own KV cache: a ULD deployment's assistants, or
    /// an offset deployment's unlearned and reference models (in that order).
    /// </summary>
    public IReadOnlyList<OnnxCausalLm> CompanionModels =>
        _companions ??= IsOffset ? [UnlearnedSession!.Model, ReferenceSession!.Model] : AssistantSessions.Select(s => s.Model).ToList();
    private IReadOnlyList<OnnxCausalLm>? _companions;
    public int ContextLength => BaseDirectory.Generation.MaxLength ?? BaseDirectory.Config.MaxPositionEmbeddings;
    public int? EosId => BaseDirectory.Generation.EosTokenId ?? Tokenizer.Ids.Eos;

    /// <summary>Resolves the request's α and r against the policy; out-of-policy values are a 400 naming the field.</summary>
    public (double Alpha, double RelativeTop) ResolveUld(double? alpha, double? relativeTop)
    {
        if (!IsUld)
        {
            if (alpha is not null) throw OpenAiException.InvalidRequest($"uld_alpha is only accepted by ULD deployments; '{Name}' is a {KindName} deployment.", "uld_alpha");
            if (relativeTop is not null) throw OpenAiException.InvalidRequest($"uld_relative_top is only accepted by ULD deployments; '{Name}' is a {KindName} deployment.", "uld_relative_top");
            return (0, 0);
        }
        var a = alpha ?? AlphaDefault;
        if (!double.IsFinite(a) || a < Options.AlphaMin || a > Options.AlphaMax)
            throw OpenAiException.InvalidRequest($"uld_alpha must be between {Options.AlphaMin} and {Options.AlphaMax} for '{Name}'; got {a}.", "uld_alpha");
        var r = relativeTop ?? Options.RelativeTopDefault;
        if (!double.IsFinite(r) || r < Options.RelativeTopMin || r > Options.RelativeTopMax)
            throw OpenAiException.InvalidRequest($"uld_relative_top must be between {Options.RelativeTopMin} and {Options.RelativeTopMax} for '{Name}'; got {r}.", "uld_relative_top");
        return (a, r);
    }

    /// <summary>Resolves the request's β against an offset deployment's policy; anything else is a 400 naming the field.</summary>
    public double ResolveOffset(double? beta)
    {
        if (!IsOffset)
        {
            if (beta is not null) throw OpenAiException.InvalidRequest($"uld_offset_beta is only accepted by offset deployments; '{Name}' is a {KindName} deployment.", OffsetBetaField);
            return 0;
        }
        var b = beta ?? Options.BetaDefault;
        if (!double.IsFinite(b) || b < Options.BetaMin || b > Options.BetaMax)
            throw OpenAiException.InvalidRequest($"uld_offset_beta must be between {Options.BetaMin} and {Options.BetaMax} for '{Name}'; got {b}.", OffsetBetaField);
        return b;
    }

    public const string OffsetBetaField = "uld_offset_beta";

    private string KindName => IsOffset ? "offset" : IsUld ? "ULD" : "plain";

    public void Dispose()
    {
        BaseSession.Dispose();
        foreach (var assistant in AssistantSessions) assistant.Dispose();
        ReferenceSession?.Dispose();
        UnlearnedSession?.Dispose();
    }
}
