namespace Uld.Forget.Configuration;

/// <summary>How a deployment takes several deletion requests (docs/FORGET-REQUESTS.md, *Combination*).</summary>
public enum Combination
{
    /// <summary>One assistant per request, added to the deployment's <c>Assistants</c> and summed at decode time.</summary>
    Summed,
    /// <summary>One assistant for all of the service's requests, retrained on the union of their forget data each time.</summary>
    Union,
}

/// <summary>An admin key: who holds it, and its sha256 (keys are never stored in clear).</summary>
public sealed class AdminKeyOptions
{
    public string Name { get; set; } = "";
    /// <summary>Lowercase hex sha256 of the key.</summary>
    public string Sha256 { get; set; } = "";
}

/// <summary>A program the service runs as a child process: <c>Command Arguments… (its own arguments)</c>.</summary>
public sealed class ProcessOptions
{
    /// <summary>The executable (default <c>dotnet</c>, running the app's dll found beside the service or in the repository build).</summary>
    public string? Command { get; set; }
    /// <summary>Arguments before the service's own (with the default command: the app's dll).</summary>
    public List<string>? Arguments { get; set; }
}

/// <summary>A serving deployment the service may change, and how requests against it are trained, gated and deployed.</summary>
public sealed class ForgetDeploymentOptions
{
    /// <summary>The model assistants are trained against: the deployment's base (or plain model) with its float32 training weights.</summary>
    public string TargetModel { get; set; } = "";
    /// <summary>LogitServer replicas serving the deployment (default: <see cref="ForgetOptions.Replicas"/>). The first stages the gate.</summary>
    public List<string>? Replicas { get; set; }
    /// <summary>Retain data assistants train with when a request brings none (JSON Lines); unset: the trainer samples the base.</summary>
    public string? RetainFile { get; set; }
    /// <summary>What the gate measures retention on (default: the request's retain data, else <see cref="RetainFile"/>).</summary>
    public string? RetainSampleFile { get; set; }
    /// <summary>Text of the forget data's kind the model never saw: α calibration's reference and the gate's "forgotten" level.</summary>
    public string HoldoutFile { get; set; } = "";
    /// <summary>Gate: forget KnowMem / VerbMem of the candidate ≤ the holdout level + this.</summary>
    public double ForgetMargin { get; set; } = 0.1;
    /// <summary>Gate: retain KnowMem / VerbMem of the candidate ≥ this × the serving deployment's.</summary>
    public double RetainRatio { get; set; } = 0.9;
    /// <summary>Gate: records of each set evaluated at most (uld-eval corpus --max-records).</summary>
    public int GateMaxRecords { get; set; } = 40;
    /// <summary>Extra <c>uld-eval corpus</c> arguments for the gate, e.g. <c>--prefix-tokens 16</c>.</summary>
    public List<string> EvalArguments { get; set; } = [];
    /// <summary>
    /// How successive requests add up. Union by default: measured against Summed on two requests it forgets both as
    /// well and keeps 0.44× of the retain KnowMem instead of 0.24×, serving one assistant (docs/FORGET-REQUESTS.md, *Combination*).
    /// </summary>
    public Combination Combination { get; set; } = Combination.Union;
    /// <summary>Extra <c>uld-trainer unlearn</c> arguments, e.g. <c>--epochs 1 --min-steps 40</c>.</summary>
    public List<string> TrainArguments { get; set; } = [];
    /// <summary>
    /// Keys a plain deployment's entry gets when it becomes a ULD deployment over its model with the first request
    /// (e.g. <c>Rule</c>, <c>AlphaMin</c>, <c>AlphaMax</c>; values as in deployments.json).
    /// </summary>
    public Dictionary<string, string> UldSettings { get; set; } = new() { ["Rule"] = "SuppressOnly", ["RelativeTopDefault"] = "0", ["RelativeTopMin"] = "0" };
}

/// <summary>The <c>Forget</c> configuration section (docs/FORGET-REQUESTS.md, *Configuration*).</summary>
public sealed class ForgetOptions
{
    public const string Section = "Forget";

    /// <summary>Where the database, each request's data, assistants, gate results and audit records live.</summary>
    public string DataDirectory { get; set; } = "forget-data";
    public List<AdminKeyOptions> AdminKeys { get; set; } = [];
    /// <summary>Directories a request may name files under (<c>{"path": …}</c>); none: inline data only.</summary>
    public List<string> AllowedDataRoots { get; set; } = [];
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;
    /// <summary>The largest data file a request may name.</summary>
    public long MaxDataFileBytes { get; set; } = 256L * 1024 * 1024;
    /// <summary>Default LogitServer replicas of every deployment.</summary>
    public List<string> Replicas { get; set; } = [];
    /// <summary>The LogitServer admin key the service presents (set it from the environment: <c>Forget__LogitServerAdminKey</c>).</summary>
    public string LogitServerAdminKey { get; set; } = "";
    public Dictionary<string, ForgetDeploymentOptions> Deployments { get; set; } = [];
    public ProcessOptions Trainer { get; set; } = new();
    public ProcessOptions Evaluator { get; set; } = new();
    /// <summary>How often training is tried again when the trainer fails with a defect (exit code 1), from its last checkpoint.</summary>
    public int TrainingRetries { get; set; } = 1;
    /// <summary>Steps between the trainer's checkpoints: a restart resumes from the last one.</summary>
    public int CheckpointEvery { get; set; } = 25;
    /// <summary>How long one LogitServer admin call may take (loading a deployment verifies its files).</summary>
    public TimeSpan AdminTimeout { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>False: the service accepts, lists and reports requests but trains and deploys nothing (e.g. while the LogitServers are maintained).</summary>
    public bool RunWorker { get; set; } = true;
    /// <summary>How often the worker looks for work when nothing woke it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<string> ReplicasOf(string deployment) =>
        Deployments.TryGetValue(deployment, out var d) && d.Replicas is { Count: > 0 } own ? own : Replicas;
}
