using System.Diagnostics;
using Uld.Inference;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The batch of a serving graph (docs/DESIGN.md, *The serving graph and its slot cache*): each row holds one slot of a
/// preallocated <see cref="KvSlots"/> cache from its prefill to its end. A newcomer is prefilled alone into a free slot;
/// a decode step appends one position per row in place; a row that leaves frees its slot and nothing is copied.
/// Sequences wait in the queue while every slot is held.
/// </summary>
internal sealed class SlotBatch : IBatch
{
    private readonly ServingCausalLm _model;
    private readonly KvSlots _slots;
    private readonly string _label;
    /// <summary>Running rows in slot order, so that a step's rows are the slots [0, highest held] minus free ones.</summary>
    private readonly List<(Sequence Sequence, int Slot)> _rows = [];

    /// <param name="slots">Most sequences at once.</param>
    /// <param name="maxLength">Positions per slot: the deployment's context, which admission holds every request to.</param>
    public SlotBatch(ServingCausalLm model, int slots, int maxLength, string label)
    {
        _model = model;
        _slots = model.CreateSlots(slots, maxLength);
        _label = label;
    }

    public IReadOnlyList<Sequence> Sequences => _rows.Select(r => r.Sequence).ToList();
    public int Room => _slots.Slots - _slots.Held;

    public Prefilled Prefill(IReadOnlyList<Sequence> newcomers, LogitPositions keep)
    {
        var pending = new List<int>(newcomers.Count);
        var rows = new List<PrefilledRow>(newcomers.Count);
        foreach (var sequence in newcomers)
        {
            if (!_slots.TryAcquire(out var slot)) throw new InvalidOperationException($"no free KV slot of {_slots.Slots}; the scheduler admits at most its room.");
            pending.Add(slot);
            var step = Timed(() => _model.Extend(_slots, slot, sequence.Prompt, keep));
            rows.Add(new PrefilledRow(sequence, new StepLogits(step, []), 0, 0));
        }
        // Newcomers that do not join (finished at their first token) give their slot back.
        return new Prefilled(rows, () =>
        {
            foreach (var slot in pending.Where(s => _slots.IsHeld(s) && !_rows.Any(r => r.Slot == s))) _slots.Release(slot);
        }) { Slots = pending };
    }

    public void Join(Prefilled prefill, IReadOnlyList<int> joining)
    {
        foreach (var j in joining) _rows.Add((prefill.Rows[j].Sequence, prefill.Slots![j]));
        _rows.Sort((a, b) => a.Slot.CompareTo(b.Slot));
    }

    public StepLogits Decode()
    {
        var step = Timed(() => _model.Decode(_slots, _rows.Select(r => r.Slot).ToList(), _rows.Select(r => r.Sequence.PendingToken).ToList()));
        return new StepLogits(step, []);
    }

    public void Remove(IReadOnlySet<Sequence> leaving)
    {
        foreach (var row in _rows.Where(r => leaving.Contains(r.Sequence))) _slots.Release(row.Slot);
        _rows.RemoveAll(r => leaving.Contains(r.Sequence));
    }

    public void Clear()
    {
        for (var slot = 0; slot < _slots.Slots; slot++)
        {
            if (_slots.IsHeld(slot)) _slots.Release(slot);
        }
        _rows.Clear();
    }

    public void Dispose()
    {
        Clear();
        _slots.Dispose();
    }

    private DecoderStep Timed(Func<DecoderStep> run)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return run();
        }
        finally
        {
            EngineMetrics.EngineSeconds.WithLabels(_label, "session").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
