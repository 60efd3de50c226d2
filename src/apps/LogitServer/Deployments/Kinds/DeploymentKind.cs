using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Inference;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// One kind of deployment — plain, ULD, fused ULD, offset — and everything that differs between kinds: the settings it
/// reads and their checks, the model directories it opens and the sessions it runs, the rule that turns one step's
/// logits into the distribution served, the request fields that set that rule, and the policy it publishes on
/// <c>/v1/models</c>. The registry, the loader, the scheduler, admission and the models listing ask the deployment's
/// kind and never branch on which kind it is. A kind is stateless (one instance serves every deployment of its kind);
/// what it needs of one deployment is that deployment's settings as served. Kinds are registered in
/// <see cref="DeploymentKinds.All"/> (docs/DESIGN.md, *Adding a deployment kind*).
/// </summary>
public abstract class DeploymentKind
{
    /// <summary>The value of the <c>Kind</c> setting that selects this kind (compared ignoring case).</summary>
    public abstract string Name { get; }

    /// <summary>How messages name the kind in a sentence ("a ULD deployment").</summary>
    public abstract string Label { get; }

    /// <summary>
    /// Whether this kind serves <paramref name="d"/>, among the kinds of its <see cref="Name"/>: a ULD entry with a
    /// <c>Fused</c> graph is the fused kind, one without it the two-session kind.
    /// </summary>
    public virtual bool Selects(DeploymentOptions d) => true;

    // ---- settings ----

    /// <summary>
    /// The <see cref="DeploymentOptions"/> properties this kind reads besides those every deployment has (Name, Kind,
    /// ExecutionProvider, DeviceId). Another kind's optional setting set on a deployment of this kind is refused.
    /// </summary>
    public abstract IReadOnlyList<string> Settings { get; }

    /// <summary>What is wrong with this kind's settings of <paramref name="d"/>, in the words start-up uses; null when nothing is.</summary>
    public abstract string? Problem(DeploymentOptions d, SettingPath at);

    // ---- models and sessions ----

    /// <summary>
    /// The model directories a deployment opens and verifies, each under its role (its key in <c>model_sha256</c>).
    /// The first is the base: its tokenizer, chat template and context length are the deployment's, and every other
    /// must share its vocabulary.
    /// </summary>
    public abstract IReadOnlyList<ModelRole> Models(DeploymentOptions d);

    /// <summary>The models among <see cref="Models"/> loaded as sessions of their own (what shared weights are planned over).</summary>
    public virtual IReadOnlyList<ModelRole> SessionModels(DeploymentOptions d) => Models(d);

    /// <summary>Whether a step runs several sessions side by side (the threading plan gives each half the cores).</summary>
    public virtual bool RunsSessionsSideBySide(DeploymentOptions d) => SessionModels(d).Count > 1;

    /// <summary>
    /// The settings a deployment is served with, once its models are open: <paramref name="configured"/>, or a copy
    /// with what loading decides filled in (a ULD deployment's α default). A value that cannot be served is a
    /// <see cref="DeploymentConfigurationException"/>.
    /// </summary>
    public virtual DeploymentOptions Serve(DeploymentOptions configured, IReadOnlyList<OpenedModel> models) => configured;

    /// <summary>
    /// Opens the sessions a step runs: by default one per model, the first the base and the others its companions, in
    /// the order <see cref="Combine"/> reads them, side by side when there are several.
    /// Runs <see cref="RunsServingGraph"/> kinds on their model's serving graph where <see cref="SessionOpener.Serving"/> gives one.
    /// </summary>
    public virtual KindSessions OpenSessions(DeploymentOptions served, IReadOnlyList<OpenedModel> models, SessionOpener open)
    {
        var besideOthers = models.Count > 1;
        if (RunsServingGraph && models.All(open.ServesInPlace))
        {
            var serving = models.Select(m => open.Serving(m, besideOthers)).ToList();
            return new KindSessions(null, [], serving[0], serving.Skip(1).ToList());
        }
        var baseSession = open.Directory(models[0], besideOthers);
        return new KindSessions(baseSession, models.Skip(1).Select(m => open.Directory(m, besideOthers)).ToList());
    }

    /// <summary>
    /// Whether a deployment of this kind runs its models' serving graphs, each with its in-place slot cache, when every
    /// one of its model directories has one (docs/DESIGN.md, *The serving graph and its slot cache*): kinds whose rule
    /// reads one session per model. A kind whose session is something else (a fused graph with α inputs) says no.
    /// </summary>
    public virtual bool RunsServingGraph => true;

    /// <summary>Whether the base session takes each row's α as an input (a fused ULD graph).</summary>
    public virtual bool BaseTakesAlpha => false;

    // ---- requests ----

    /// <summary>The request fields (<see cref="RequestControls"/>) that set this kind's rule; any other one a request sets is a 400.</summary>
    public virtual IReadOnlyList<string> ControlFields => [];

    /// <summary>
    /// The rule's values for one request: the controls it set, checked against the deployment's policy, or the
    /// defaults. A control of another kind, or a value outside the policy, is a 400 naming the field.
    /// </summary>
    public RuleControls Admit(DeploymentOptions served, CompletionRequestBase request)
    {
        foreach (var (field, value) in RequestControls.Of(request))
        {
            if (value is null || ControlFields.Contains(field)) continue;
            throw OpenAiException.InvalidRequest(
                $"{field} is only accepted by {DeploymentKinds.Accepting(field)} deployments; '{served.Name}' is {Article(Label)} {Label} deployment.", field);
        }
        return Resolve(served, request);
    }

    /// <summary>The rule's values for a request whose controls are all this kind's (<see cref="Admit"/>).</summary>
    protected virtual RuleControls Resolve(DeploymentOptions served, CompletionRequestBase request) => RuleControls.None;

    /// <summary>The values the rule applied, as responses and logs report them (null: the kind has no such control).</summary>
    public virtual ReportedControls Report(SamplingParameters parameters) => ReportedControls.None;

    /// <summary>
    /// Writes into <paramref name="logits"/> the unnormalised logits of the distribution served for one row at one
    /// position of a step: the base step (or a fused graph's) and the companions' in <see cref="OpenSessions"/>'s order.
    /// The numerical rule lives in Uld.Inference.Sampling; a kind only chooses it and feeds it.
    /// </summary>
    public abstract void Combine(DeploymentOptions served, DecoderStep baseStep, IReadOnlyList<DecoderStep> companions, int row, int position,
        SamplingParameters parameters, Span<float> logits);

    // ---- publishing ----

    /// <summary>The deployment's card on <c>/v1/models</c>: <paramref name="card"/> with this kind's policy, if it has one.</summary>
    public virtual ModelCard Publish(DeploymentOptions served, ModelCard card) => card;

    public override string ToString() => Name;

    // ---- helpers for kinds' checks ----

    /// <summary>A model directory setting the kind requires: set, and an existing directory.</summary>
    protected string? RequiredDirectory(SettingPath at, string field, string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return $"{at.Key}:{field} is required for {Name} deployments {at.Where}.";
        return Directory.Exists(path) ? null : $"{at.Key}:{field} {at.Where}: model directory {path} does not exist.";
    }

    /// <summary>Settings that must be finite and ≥ 0, checked in order.</summary>
    protected static string? NonNegative(SettingPath at, params (string Field, double Value)[] values)
    {
        foreach (var (field, value) in values)
        {
            if (!double.IsFinite(value) || value < 0) return $"{at.Key}:{field} {at.Where} must be a finite number ≥ 0; got {value}.";
        }
        return null;
    }

    /// <summary>Pairs of bounds, each low one at most its high one, checked in order (an unset one passes).</summary>
    protected static string? NotAbove(SettingPath at, params (string Low, double? LowValue, string High, double? HighValue)[] pairs)
    {
        foreach (var (low, lowValue, high, highValue) in pairs)
        {
            if (lowValue > highValue) return $"{at.Key}:{low} {at.Where} must not exceed {high} ({lowValue} > {highValue}).";
        }
        return null;
    }

    private static string Article(string label) => label.Length > 0 && "aeiou".Contains(label[0]) ? "an" : "a";
}

/// <summary>Where a deployment's settings are, for messages: its configuration key and "(deployment 'name')".</summary>
public sealed record SettingPath(string Key, string Where);

/// <summary>A model directory a deployment opens, under the role it plays (its key in <c>model_sha256</c>).</summary>
public sealed record ModelRole(string Role, string Path);

/// <summary>A model directory opened and verified for a deployment, under its role.</summary>
public sealed record OpenedModel(string Role, ModelDirectory Directory);

/// <summary>
/// The sessions one step of a deployment runs: the base (or a fused graph) and the companions beside it; or, for a
/// deployment served from its models' serving graphs, those (<see cref="Serving"/> and <see cref="ServingCompanions"/>, no base).
/// </summary>
public sealed record KindSessions(ModelSessionLease? Base, IReadOnlyList<ModelSessionLease> Companions, ServingSessionLease? Serving = null,
    IReadOnlyList<ServingSessionLease>? ServingCompanions = null);
