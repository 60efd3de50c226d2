using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Uld.Contracts.Forget;

namespace Uld.Forget.Store;

/// <summary>
/// Everything the service keeps about one request, persisted as one JSON document per row (docs/FORGET-REQUESTS.md,
/// *Lifecycle*): what was asked, the state it reached, and what each step recorded on the way — so a restarted service
/// continues from exactly where the last one stopped, and the audit record is built from this alone.
/// </summary>
public sealed record RequestRecord
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    /// <summary>Submission order: the worker takes requests by it.</summary>
    [JsonPropertyName("seq")] public long Seq { get; init; }
    [JsonPropertyName("deployment")] public required string Deployment { get; init; }
    [JsonPropertyName("method")] public required string Method { get; init; }
    [JsonPropertyName("submitted_by")] public required string SubmittedBy { get; init; }
    [JsonPropertyName("state")] public string State { get; init; } = ForgetStates.Queued;
    [JsonPropertyName("progress")] public double Progress { get; init; }
    [JsonPropertyName("created_at")] public DateTimeOffset CreatedAt { get; init; }
    [JsonPropertyName("updated_at")] public DateTimeOffset UpdatedAt { get; init; }
    [JsonPropertyName("forget")] public required DataSetView Forget { get; init; }
    [JsonPropertyName("retain")] public DataSetView? Retain { get; init; }
    [JsonPropertyName("gate")] public GateResult? Gate { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("live_at")] public DateTimeOffset? LiveAt { get; init; }

    /// <summary>The trained assistant: path, its manifest's method, steps, calibrated α, and the sha256 of its ONNX file.</summary>
    [JsonPropertyName("assistant")] public JsonObject? Assistant { get; init; }
    /// <summary>The deployment's entry when the gate started (what a rollback restores).</summary>
    [JsonPropertyName("entry_before")] public JsonObject? EntryBefore { get; init; }
    /// <summary>The entry the request deploys (the candidate the gate staged).</summary>
    [JsonPropertyName("entry_after")] public JsonObject? EntryAfter { get; init; }
    /// <summary>What deploying did on each replica.</summary>
    [JsonPropertyName("replicas")] public IReadOnlyList<ReplicaChange> Replicas { get; init; } = [];
    /// <summary>The running trainer's process id, so a restarted service can stop one its predecessor left behind.</summary>
    [JsonPropertyName("trainer_pid")] public int? TrainerPid { get; init; }
    /// <summary>How often training was started (1 + restarts).</summary>
    [JsonPropertyName("training_attempts")] public int TrainingAttempts { get; init; }
    /// <summary>Whether the last training attempt resumed from the trainer's checkpoint.</summary>
    [JsonPropertyName("resumed")] public bool Resumed { get; init; }
    /// <summary>The <c>uld-trainer</c> arguments the assistant was trained with.</summary>
    [JsonPropertyName("train_arguments")] public IReadOnlyList<string>? TrainArguments { get; init; }

    public ForgetRequestView ToView(IReadOnlyList<TransitionView> transitions) =>
        new(Id, Deployment, Method, SubmittedBy, State, Progress, CreatedAt, UpdatedAt, Forget, Retain, transitions, Gate, Error, LiveAt);
}
