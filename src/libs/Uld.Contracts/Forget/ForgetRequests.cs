using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Uld.Contracts.Forget;

/// <summary>
/// The forget-request service's API (docs/FORGET-REQUESTS.md, *API*). Every call carries
/// <c>Authorization: Bearer &lt;admin key&gt;</c>.
/// <list type="bullet">
/// <item><c>POST /v1/forget-requests</c> with <see cref="ForgetRequestSubmission"/> → 202 <see cref="ForgetRequestView"/>.</item>
/// <item><c>GET /v1/forget-requests</c> → <see cref="ForgetRequestList"/>, in submission order.</item>
/// <item><c>GET /v1/forget-requests/{id}</c> → <see cref="ForgetRequestView"/>.</item>
/// <item><c>GET /v1/forget-requests/{id}/report</c> → <see cref="AuditRecord"/>; <c>…/report.md</c> the same as Markdown.</item>
/// </list>
/// </summary>
public static class ForgetRoutes
{
    public const string Requests = "/v1/forget-requests";

    public static string Request(string id) => $"{Requests}/{Uri.EscapeDataString(id)}";

    public static string Report(string id) => $"{Request(id)}/report";

    public static string ReportMarkdown(string id) => $"{Request(id)}/report.md";
}

/// <summary>The states of a request (docs/FORGET-REQUESTS.md, *Lifecycle*); the last three are final.</summary>
public static class ForgetStates
{
    public const string Queued = "queued";
    public const string Training = "training";
    public const string Gating = "gating";
    public const string Deploying = "deploying";
    public const string Deployed = "deployed";
    public const string Rejected = "rejected";
    public const string Failed = "failed";

    public static readonly IReadOnlyList<string> All = [Queued, Training, Gating, Deploying, Deployed, Rejected, Failed];

    public static bool IsFinal(string state) => state is Deployed or Rejected or Failed;
}

/// <summary>
/// The body of <c>POST /v1/forget-requests</c>. <c>forget</c> and <c>retain</c> are each one of: an array of records
/// (<c>{"text"}</c>, <c>{"question", "answer"}</c>, <c>{"prompt", "completion"}</c>, <c>{"messages"}</c>; one format per
/// set), a string of JSON Lines, or <c>{"path": "…"}</c> naming a file under a directory the operator allows.
/// </summary>
/// <param name="Deployment">The serving deployment to change (ULD, or plain: it becomes ULD over its model).</param>
/// <param name="Method">The unlearning method; "uld" (the default) is the one the service deploys.</param>
/// <param name="SubmittedBy">Who asked for the deletion: recorded in the audit record.</param>
public sealed record ForgetRequestSubmission(
    [property: JsonPropertyName("deployment")] string Deployment,
    [property: JsonPropertyName("forget")] JsonNode Forget,
    [property: JsonPropertyName("retain")] JsonNode? Retain,
    [property: JsonPropertyName("method")] string? Method,
    [property: JsonPropertyName("submitted_by")] string SubmittedBy);

/// <summary>A data set of a request as the service saved it under its data directory.</summary>
/// <param name="Source">"inline" or the path it was read from.</param>
/// <param name="Kind">text, question/answer, prompt/completion or messages.</param>
public sealed record DataSetView(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("records")] int Records,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>One state change, with when it happened and why (progress, reasons, errors).</summary>
public sealed record TransitionView(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("detail")] string? Detail);

/// <summary>One threshold of the gate: <c>value relation threshold</c> must hold.</summary>
/// <param name="Name">e.g. "forget knowmem".</param>
/// <param name="Relation">"&lt;=" (forget metrics) or "&gt;=" (retain metrics).</param>
/// <param name="Reference">What the threshold was derived from (holdout level + margin, or the ratio × before).</param>
public sealed record GateCheck(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("relation")] string Relation,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("reference")] string Reference,
    [property: JsonPropertyName("passed")] bool Passed);

/// <summary>Corpus metrics of one deployment on one set (uld-eval corpus): what the gate compared.</summary>
public sealed record SetMetrics(
    [property: JsonPropertyName("knowmem")] double? KnowMem,
    [property: JsonPropertyName("verbmem")] double VerbMem,
    [property: JsonPropertyName("passages")] int Passages);

/// <summary>The gate's measurements and verdict.</summary>
/// <param name="Staging">The deployment the candidate was loaded as (<c>&lt;deployment&gt;-staging-&lt;id&gt;</c>).</param>
/// <param name="ForgetBefore">The serving deployment on the request's forget data, before the change.</param>
/// <param name="ForgetAfter">The candidate on the same data.</param>
/// <param name="Holdout">The serving deployment on holdout text it never saw: the level forgotten data should fall to.</param>
/// <param name="RetainBefore">The serving deployment on the retain sample.</param>
/// <param name="RetainAfter">The candidate on the retain sample.</param>
/// <param name="ForgetMargin">Added to the holdout level.</param>
/// <param name="RetainRatio">Of the retain level before, the least the candidate must keep.</param>
/// <param name="MiaAuc">Min-k% membership AUC of the candidate, forget vs holdout (0.5 = indistinguishable); reported, not gated.</param>
public sealed record GateResult(
    [property: JsonPropertyName("passed")] bool Passed,
    [property: JsonPropertyName("staging")] string Staging,
    [property: JsonPropertyName("forget_before")] SetMetrics ForgetBefore,
    [property: JsonPropertyName("forget_after")] SetMetrics ForgetAfter,
    [property: JsonPropertyName("holdout")] SetMetrics Holdout,
    [property: JsonPropertyName("retain_before")] SetMetrics RetainBefore,
    [property: JsonPropertyName("retain_after")] SetMetrics RetainAfter,
    [property: JsonPropertyName("forget_margin")] double ForgetMargin,
    [property: JsonPropertyName("retain_ratio")] double RetainRatio,
    [property: JsonPropertyName("checks")] IReadOnlyList<GateCheck> Checks,
    [property: JsonPropertyName("mia_auc")] double? MiaAuc)
{
    /// <summary>The checks that failed, one line each.</summary>
    public IEnumerable<string> Reasons() => Checks.Where(c => !c.Passed).Select(c =>
        FormattableString.Invariant($"{c.Name} {c.Value:0.###} is not {c.Relation} {c.Threshold:0.###} ({c.Reference})"));
}

/// <summary>A request as <c>GET /v1/forget-requests/{id}</c> shows it.</summary>
/// <param name="Progress">Training progress in percent while training (and 100 after it).</param>
/// <param name="Error">Why a request failed, or why it was rejected (the failing thresholds).</param>
/// <param name="LiveAt">When the change went live on every replica.</param>
public sealed record ForgetRequestView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("deployment")] string Deployment,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("submitted_by")] string SubmittedBy,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("progress")] double Progress,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("forget")] DataSetView Forget,
    [property: JsonPropertyName("retain")] DataSetView? Retain,
    [property: JsonPropertyName("transitions")] IReadOnlyList<TransitionView> Transitions,
    [property: JsonPropertyName("gate")] GateResult? Gate,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("live_at")] DateTimeOffset? LiveAt)
{
    [JsonPropertyName("object")] public string Object => "forget_request";
}

/// <summary>The answer of <c>GET /v1/forget-requests</c>.</summary>
public sealed record ForgetRequestList([property: JsonPropertyName("data")] IReadOnlyList<ForgetRequestView> Data)
{
    [JsonPropertyName("object")] public string Object => "list";
}

/// <summary>One replica's deployment before and after the change (<c>GET /admin/deployments</c>).</summary>
/// <param name="ModelSha256Before">Per role, the sha256 of the ONNX files served before the change.</param>
/// <param name="ModelSha256After">The same after it (null until deployed, and after a rollback).</param>
public sealed record ReplicaChange(
    [property: JsonPropertyName("replica")] string Replica,
    [property: JsonPropertyName("version_before")] int? VersionBefore,
    [property: JsonPropertyName("version_after")] int? VersionAfter,
    [property: JsonPropertyName("model_sha256_before")] IReadOnlyDictionary<string, string>? ModelSha256Before,
    [property: JsonPropertyName("model_sha256_after")] IReadOnlyDictionary<string, string>? ModelSha256After,
    [property: JsonPropertyName("outcome")] string Outcome);

/// <summary>
/// What an auditor checks for one request (docs/FORGET-REQUESTS.md, *Audit record*): the data by hash, the method and
/// its configuration, the assistant that was trained, the gate's metrics against its thresholds, the deployment entry
/// before and after, the model files' sha256 on every replica before and after, every transition and when it went live.
/// </summary>
public sealed record AuditRecord(
    [property: JsonPropertyName("request")] ForgetRequestView Request,
    [property: JsonPropertyName("configuration")] JsonObject Configuration,
    [property: JsonPropertyName("assistant")] JsonObject? Assistant,
    [property: JsonPropertyName("entry_before")] JsonObject? EntryBefore,
    [property: JsonPropertyName("entry_after")] JsonObject? EntryAfter,
    [property: JsonPropertyName("replicas")] IReadOnlyList<ReplicaChange> Replicas,
    [property: JsonPropertyName("written_at")] DateTimeOffset WrittenAt)
{
    [JsonPropertyName("object")] public string Object => "forget_request.audit";
}
