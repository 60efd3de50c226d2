using System.Text.Json.Serialization;
using Uld.Inference.Sampling;

namespace Uld.LogitServer.Deployments;

/// <summary>One of a ULD deployment's several assistants (<see cref="DeploymentOptions.Assistants"/>).</summary>
public sealed class AssistantOptions
{
    /// <summary>The assistant's model directory (same tokenizer as the base).</summary>
    public string Path { get; set; } = "";
    /// <summary>w, the weight of this assistant's penalty within the sum that the request's α scales.</summary>
    public double Alpha { get; set; } = 1.0;
}

/// <summary>One deployment, as configured under <c>LogitServer:Deployments</c>.</summary>
public sealed class DeploymentOptions
{
    /// <summary>What clients pass as <c>model</c>.</summary>
    public string Name { get; set; } = "";
    /// <summary>
    /// What kind of deployment this is, by the name of its kind (<c>Plain</c>, <c>Uld</c>, <c>Offset</c>; any case):
    /// which of the settings below it reads, which models it opens and how it combines their logits
    /// (<see cref="Kinds.DeploymentKinds"/>; docs/DESIGN.md, *Adding a deployment kind*).
    /// </summary>
    public string Kind { get; set; } = "Plain";
    /// <summary>Plain: the model directory.</summary>
    public string? Model { get; set; }
    /// <summary>ULD and Offset: the base model directory.</summary>
    public string? Base { get; set; }
    /// <summary>ULD: the assistant model directory (same tokenizer as the base). Set this or <see cref="Assistants"/>.</summary>
    public string? Assistant { get; set; }
    /// <summary>
    /// ULD: several assistants whose penalties are summed, each weighted by its <see cref="AssistantOptions.Alpha"/>
    /// (docs/DESIGN.md, *The ULD decode rule*) — e.g. one assistant per forget request. Set this or <see cref="Assistant"/>.
    /// </summary>
    public List<AssistantOptions>? Assistants { get; set; }
    /// <summary>Offset: the small model as it was before unlearning (same tokenizer as the base).</summary>
    public string? Reference { get; set; }
    /// <summary>Offset: the reference after unlearning on the forget set (same tokenizer as the base).</summary>
    public string? Unlearned { get; set; }
    /// <summary>
    /// ULD: a fused graph of this pair (<c>uld-trainer fuse</c>), served as one session run per step instead of
    /// two sessions; it must have been built from exactly these base and assistant ONNX files.
    /// </summary>
    public string? Fused { get; set; }
    /// <summary>"cpu" or "cuda"; unset: the server-wide <see cref="LogitServerOptions.ExecutionProvider"/>.</summary>
    public string? ExecutionProvider { get; set; }
    /// <summary>CUDA device of this deployment's sessions.</summary>
    public int DeviceId { get; set; }
    /// <summary>ULD: how the assistant's logits enter the distribution (docs/DESIGN.md, *The ULD decode rule*); unset is <see cref="UldRule.Difference"/>.</summary>
    public UldRule? Rule { get; set; }
    /// <summary>The rule a ULD deployment decodes with.</summary>
    [JsonIgnore]
    public UldRule DecodeRule => Rule ?? UldRule.Difference;
    /// <summary>
    /// α when the request names none. Unset: the assistant's calibrated α (its manifest's <c>metrics.calibration</c>,
    /// docs/METHODS.md *α calibration*) when it was calibrated for this deployment's rule and relative-top default,
    /// else <see cref="FallbackAlpha"/>.
    /// </summary>
    public double? AlphaDefault { get; set; }
    /// <summary>α of a ULD deployment that sets none and whose assistant carries no calibration for its rule.</summary>
    public const double FallbackAlpha = 0.8;
    /// <summary>The floor callers may not go below: lower α would undo the unlearning.</summary>
    public double AlphaMin { get; set; } = 0.8;
    public double AlphaMax { get; set; } = 2.0;
    /// <summary>Offset: β when the request names none.</summary>
    public double BetaDefault { get; set; } = 1.0;
    /// <summary>Offset: the floor callers may not go below: smaller β would weaken the offset that does the forgetting.</summary>
    public double BetaMin { get; set; } = 1.0;
    public double BetaMax { get; set; } = 2.0;
    public double RelativeTopDefault { get; set; } = 0.1;
    public double RelativeTopMin { get; set; } = 0.0;
    public double RelativeTopMax { get; set; } = 1.0;

    /// <summary>A copy whose settings can be filled in without touching these (the settings a deployment is served with).</summary>
    public DeploymentOptions Copy() => (DeploymentOptions)MemberwiseClone();
}

/// <summary>Server-wide engine settings, under <c>LogitServer</c>.</summary>
public sealed class LogitServerOptions
{
    public const string Section = "LogitServer";

    public List<DeploymentOptions> Deployments { get; set; } = [];
    /// <summary>Most sequences decoded together in one step, per deployment.</summary>
    public int MaxBatchSize { get; set; } = 32;
    /// <summary>Requests that may wait for a slot; beyond this new requests get 503 + Retry-After.</summary>
    public int MaxQueuedRequests { get; set; } = 256;
    /// <summary>
    /// "cpu" (default) or "cuda": the default of every deployment. A deployment on "cuda" where CUDA is not
    /// available stops start-up with one line saying why.
    /// </summary>
    public string ExecutionProvider { get; set; } = "cpu";
    /// <summary>ONNX Runtime intra-op threads per session; 0 = from the threading plan (docs/SERVING.md, *Threading*).</summary>
    public int IntraOpThreads { get; set; }
    /// <summary>Run a two-session ULD pair's base and assistant steps at once; unset = from the threading plan.</summary>
    public bool? ParallelUldModels { get; set; }
    /// <summary>Let idle ONNX Runtime threads spin; unset = from the threading plan.</summary>
    public bool? AllowSpinning { get; set; }
    /// <summary>Skip sha256 verification of model files at start-up (large models, trusted storage).</summary>
    public bool SkipHashCheck { get; set; }
    /// <summary>
    /// "InPlace" (default): a plain deployment on CPU whose model directory has a serving graph runs it, with a slot
    /// cache written in place (docs/DESIGN.md, *The serving graph and its slot cache*); "Concat": every deployment runs
    /// onnx/model.onnx with Contract 2's concatenated cache.
    /// </summary>
    public string KvCache { get; set; } = InPlaceKvCache;
    public const string InPlaceKvCache = "InPlace";
    public const string ConcatKvCache = "Concat";
    /// <summary>
    /// The longest context served with the in-place cache: a deployment whose context is longer keeps the concatenated
    /// one. GroupQueryAttention's CPU kernel sizes its score buffer by the cache's length (heads × new tokens × length
    /// floats), so a slot of 131,072 positions would cost 4 GiB of scratch for a 256-token prompt at 32 heads.
    /// </summary>
    public int KvCacheMaxLength { get; set; } = 8192;
    /// <summary>Whether <see cref="KvCache"/> allows the in-place cache.</summary>
    public bool AllowsInPlaceKvCache => string.Equals(KvCache, InPlaceKvCache, StringComparison.OrdinalIgnoreCase);
    public int DefaultMaxTokens { get; set; } = 256;
    /// <summary>
    /// Chunked prefill on the in-place cache: while streams are decoding, a scheduler iteration runs prompt tokens for
    /// at most this multiple of the last decode step's time, so a long prompt arriving raises the running streams'
    /// inter-token latency to about (1 + share)× instead of stalling them for its whole prefill; the prompt's own time
    /// to first token grows in exchange. 0 runs every prompt whole (docs/SERVING.md, *Chunked prefill*).
    /// </summary>
    public double PrefillTimeShare { get; set; } = 1.0;
    /// <summary>
    /// Prefix caching on the in-place cache (docs/SERVING.md, *Prefix caching*): prompt tokens another sequence already
    /// computed are not computed again. Off where tenants must not learn from a faster first token that someone sent
    /// the same prefix before.
    /// </summary>
    public bool PrefixCaching { get; set; } = true;
    /// <summary>The fewest prompt tokens a chunk runs, so that a prompt always progresses however fast decoding is.</summary>
    public int MinPrefillChunkTokens { get; set; } = 16;
    /// <summary>
    /// The lowercase hex sha256 of the admin key (never the key itself) that the admin API
    /// (<c>/admin/deployments</c>) requires as <c>Authorization: Bearer &lt;key&gt;</c>. Unset (the default): the admin
    /// API does not exist and the deployments are exactly the configured ones (docs/DESIGN.md, *Runtime deployments*).
    /// </summary>
    public string? AdminKeySha256 { get; set; }

    /// <summary>
    /// A JSON file where every successful admin API change is recorded and from which, at start-up, those changes are
    /// applied over <see cref="Deployments"/> (<see cref="Uld.LogitServer.Deployments.RuntimeDeploymentsFile"/>). Unset: changes last
    /// until the process ends.
    /// </summary>
    public string? RuntimeDeploymentsFile { get; set; }

    /// <summary>Whether the admin API is on, so that the deployments may change while the server runs.</summary>
    public bool AdminApiEnabled => !string.IsNullOrEmpty(AdminKeySha256);
}
