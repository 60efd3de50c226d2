using Uld.Inference;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The rows one scheduler decodes and their KV state, with the sessions that step them: how newcomers' prompts are
/// prefilled, how they join, one decode step of every row, and how rows leave. <see cref="BatchScheduler"/> runs the
/// loop and samples; an implementation owns the cache — <see cref="ConcatBatch"/> (Contract 2's graphs, a cache
/// rebuilt when rows change) or <see cref="SlotBatch"/> (the serving graph, a slot per row written in place).
/// </summary>
internal interface IBatch : IDisposable
{
    /// <summary>The running sequences: row i of every <see cref="Decode"/> step.</summary>
    IReadOnlyList<Sequence> Sequences { get; }

    /// <summary>Admitted sequences whose prompts have not fully run yet, in admission order.</summary>
    IReadOnlyList<Sequence> Prefilling { get; }

    /// <summary>How many more sequences may be admitted now.</summary>
    int Room { get; }

    /// <summary>
    /// Takes newcomers in (at most <see cref="Room"/>); their prompts run in <see cref="Prefill"/>. Returns how many of
    /// their prompt tokens were found already cached (a prefix computed for another sequence) and will not run.
    /// </summary>
    int Admit(IReadOnlyList<Sequence> newcomers);

    /// <summary>
    /// Runs admitted prompts, in admission order: about <paramref name="tokens"/> prompt tokens this call where the
    /// batch can extend a row's cache piece by piece (chunked prefill), else every admitted prompt whole. Returns the
    /// rows whose prompts are now complete; they join the batch only through <see cref="Join"/>. A sequence that scores
    /// its prompt (<see cref="Sequence.WantsPromptLogprobs"/>) keeps the logits of every prompt position and runs whole.
    /// </summary>
    Prefilled Prefill(int tokens);

    /// <summary>Adds the listed newcomers (indices into the prefill's) to the batch; the others' state is dropped.</summary>
    void Join(Prefilled prefill, IReadOnlyList<int> joining);

    /// <summary>One step: each row's <see cref="Sequence.PendingToken"/> in, the next logits out (row i = <see cref="Sequences"/>[i]).</summary>
    StepLogits Decode();

    /// <summary>Drops the rows, and the sequences still prefilling, of <paramref name="leaving"/>.</summary>
    void Remove(IReadOnlySet<Sequence> leaving);

    /// <summary>Drops every row and every sequence still prefilling (after a failed step, or at the end).</summary>
    void Clear();
}

/// <summary>The logits of one run of a deployment's sessions: its base (or fused graph) and its companions, in the kind's order.</summary>
internal sealed record StepLogits(DecoderStep Base, DecoderStep[] Companions);

/// <summary>Where a newcomer's prompt logits are: row <see cref="Row"/> of <see cref="Step"/>, prompt token t at position <see cref="Offset"/> + t.</summary>
internal sealed record PrefilledRow(Sequence Sequence, StepLogits Step, int Row, int Offset);

/// <summary>A prefill's rows, one per newcomer, and what to release once they have joined (or not).</summary>
internal sealed class Prefilled(IReadOnlyList<PrefilledRow> rows, int tokens, Action? release = null) : IDisposable
{
    public IReadOnlyList<PrefilledRow> Rows { get; } = rows;
    /// <summary>Prompt tokens the models ran in this call (a prompt copied from an identical one's cache runs none).</summary>
    public int Tokens { get; } = tokens;
    /// <summary>The slot each row was prefilled into, for batches that hold one per row (<see cref="SlotBatch"/>).</summary>
    public IReadOnlyList<int>? Slots { get; init; }

    public void Dispose() => release?.Invoke();
}
