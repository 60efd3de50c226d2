using Uld.Inference;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The batch of serving graphs (docs/DESIGN.md, *The serving graph and its slot cache*): the base's and, for kinds
/// with companions (a ULD assistant, an offset pair), each companion's, every one with its own preallocated
/// <see cref="KvSlots"/> cache in which a row holds the same slot from its prefill to its end. A newcomer is prefilled
/// alone into a free slot (a prompt identical to one prefilled in the same call is copied from its slot instead); a decode step appends one position per row in place; a row that leaves frees its slot and
/// nothing is copied. Sequences wait in the queue while every slot is held.
/// </summary>
internal sealed class SlotBatch : IBatch
{
    private readonly ServingCausalLm[] _models;
    /// <summary>One cache per model, base first; a slot index means the same row in all of them.</summary>
    private readonly KvSlots[] _caches;
    private readonly bool _concurrent;
    private readonly string _label;
    /// <summary>Running rows in slot order, so that a step's rows are the slots [0, highest held] minus free ones.</summary>
    private readonly List<(Sequence Sequence, int Slot)> _rows = [];

    /// <param name="concurrent">Run the companions beside the base (the threading plan gives them their own cores).</param>
    /// <param name="slots">Most sequences at once.</param>
    /// <param name="maxLength">Positions per slot: the deployment's context, which admission holds every request to.</param>
    public SlotBatch(ServingCausalLm baseModel, IReadOnlyList<ServingCausalLm> companions, bool concurrent, int slots, int maxLength, string label)
    {
        _models = [baseModel, .. companions];
        _caches = new KvSlots[_models.Length];
        try
        {
            for (var i = 0; i < _models.Length; i++) _caches[i] = _models[i].CreateSlots(slots, maxLength);
        }
        catch
        {
            foreach (var cache in _caches) cache?.Dispose();
            throw;
        }
        (_concurrent, _label) = (concurrent, label);
    }

    public IReadOnlyList<Sequence> Sequences => _rows.Select(r => r.Sequence).ToList();
    public int Room => _caches[0].Slots - _caches[0].Held;

    public Prefilled Prefill(IReadOnlyList<Sequence> newcomers, LogitPositions keep)
    {
        var pending = new List<int>(newcomers.Count);
        var rows = new List<PrefilledRow>(newcomers.Count);
        foreach (var sequence in newcomers)
        {
            var slot = Acquire();
            pending.Add(slot);
            // The n choices of one request (and any identical prompts arriving together) are prefilled once: the
            // others copy its cached positions and read the same logits.
            var twin = rows.FindIndex(r => SamePrompt(r.Sequence.Prompt, sequence.Prompt));
            StepLogits step;
            if (twin >= 0)
            {
                foreach (var cache in _caches) cache.CopyPositions(pending[twin], slot);
                step = rows[twin].Step;
            }
            else step = Run((model, cache) => model.Extend(cache, slot, sequence.Prompt, keep));
            rows.Add(new PrefilledRow(sequence, step, 0, 0));
        }
        // Newcomers that do not join (finished at their first token) give their slot back.
        return new Prefilled(rows, () =>
        {
            foreach (var slot in pending.Where(s => _caches[0].IsHeld(s) && !_rows.Any(r => r.Slot == s))) Release(slot);
        }) { Slots = pending };
    }

    public void Join(Prefilled prefill, IReadOnlyList<int> joining)
    {
        foreach (var j in joining) _rows.Add((prefill.Rows[j].Sequence, prefill.Slots![j]));
        _rows.Sort((a, b) => a.Slot.CompareTo(b.Slot));
    }

    public StepLogits Decode()
    {
        var slots = _rows.Select(r => r.Slot).ToList();
        var tokens = _rows.Select(r => r.Sequence.PendingToken).ToList();
        return Run((model, cache) => model.Decode(cache, slots, tokens));
    }

    public void Remove(IReadOnlySet<Sequence> leaving)
    {
        foreach (var row in _rows.Where(r => leaving.Contains(r.Sequence))) Release(row.Slot);
        _rows.RemoveAll(r => leaving.Contains(r.Sequence));
    }

    public void Clear()
    {
        foreach (var cache in _caches)
        {
            for (var slot = 0; slot < cache.Slots; slot++)
            {
                if (cache.IsHeld(slot)) cache.Release(slot);
            }
        }
        _rows.Clear();
    }

    public void Dispose()
    {
        Clear();
        foreach (var cache in _caches) cache.Dispose();
    }

    private static bool SamePrompt(IReadOnlyList<int> a, IReadOnlyList<int> b) =>
        ReferenceEquals(a, b) || (a.Count == b.Count && a.SequenceEqual(b));

    /// <summary>The lowest free slot, taken in every model's cache (they are acquired and released together, so it is the same one).</summary>
    private int Acquire()
    {
        if (!_caches[0].TryAcquire(out var slot)) throw new InvalidOperationException($"no free KV slot of {_caches[0].Slots}; the scheduler admits at most its room.");
        foreach (var cache in _caches.Skip(1))
        {
            if (!cache.TryAcquire(out var same) || same != slot) throw new InvalidOperationException($"the companions' KV slots went out of step with the base's ({same} ≠ {slot}).");
        }
        return slot;
    }

    private void Release(int slot)
    {
        foreach (var cache in _caches) cache.Release(slot);
    }

    /// <summary>One step of every model on its own cache: the companions after the base, or beside it when concurrent.</summary>
    private StepLogits Run(Func<ServingCausalLm, KvSlots, DecoderStep> step) =>
        SessionRunner.Step(() => step(_models[0], _caches[0]),
            () => [.. Enumerable.Range(1, _models.Length - 1).Select(i => step(_models[i], _caches[i]))],
            _models.Length - 1, _concurrent, _label);
}
