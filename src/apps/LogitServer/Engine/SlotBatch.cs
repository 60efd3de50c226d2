using Uld.Inference;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The batch of serving graphs (docs/DESIGN.md, *The serving graph and its slot cache*): the base's and, for kinds
/// with companions (a ULD assistant, an offset pair), each companion's, every one with its own preallocated
/// <see cref="KvSlots"/> cache in which a row holds the same slot from its admission to its end. A newcomer's prompt is
/// run alone into its slot, in chunks of the scheduler's budget (chunked prefill: the running rows decode between
/// chunks). What a prompt shares with tokens already cached is not run again: a prompt identical to one admitted with it
/// waits for that one and copies its slot; a prefix of a running sequence's tokens, or of what a finished sequence left
/// in a free slot (the previous turn of a conversation, a shared system prompt), is copied into the lowest free slot, or
/// kept where it is when that is the one. A decode step appends one position per row in place; a row that leaves frees its slot and
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
    /// <summary>Admitted sequences whose prompts are not complete, in admission order.</summary>
    private readonly List<Admitted> _admitted = [];
    /// <summary>
    /// Per slot, the tokens whose positions it caches, in order: a held slot's sequence so far, or what a free slot's
    /// last sequence left (valid for <see cref="KvSlots.Left"/> positions). The same in every model's cache.
    /// </summary>
    private readonly List<int>[] _tokens;
    /// <summary>The shortest shared prefix worth taking from another slot (every prompt shares its BOS).</summary>
    private const int MinSharedPrefix = 4;
    private readonly bool _prefixCaching;

    /// <summary>A sequence holding <see cref="Slot"/> while its prompt runs: <see cref="Done"/> tokens so far, or a copy of <see cref="Source"/>'s.</summary>
    private sealed class Admitted(Sequence sequence, int slot, Admitted? source)
    {
        public Sequence Sequence { get; } = sequence;
        public int Slot { get; } = slot;
        public Admitted? Source { get; } = source;
        public int Done { get; set; }
        public int Remaining => Sequence.Prompt.Count - Done;
    }

    /// <param name="concurrent">Run the companions beside the base (the threading plan gives them their own cores).</param>
    /// <param name="slots">Most sequences at once.</param>
    /// <param name="maxLength">Positions per slot: the deployment's context, which admission holds every request to.</param>
    /// <param name="prefixCaching">Reuse cached prefixes across sequences (off: only the copies of one admission share).</param>
    public SlotBatch(ServingCausalLm baseModel, IReadOnlyList<ServingCausalLm> companions, bool concurrent, int slots, int maxLength, string label, bool prefixCaching = true)
    {
        _prefixCaching = prefixCaching;
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
        _tokens = [.. Enumerable.Range(0, slots).Select(_ => new List<int>())];
    }

    // Snapshots, made again only after the rows (or the admitted) change: the scheduler reads them several times a step.
    public IReadOnlyList<Sequence> Sequences => _sequences ??= _rows.Select(r => r.Sequence).ToList();
    public IReadOnlyList<Sequence> Prefilling => _prefilling ??= _admitted.Select(a => a.Sequence).ToList();
    private List<Sequence>? _sequences;
    private List<Sequence>? _prefilling;

    private void Changed() => (_sequences, _prefilling) = (null, null);
    public int Room => _caches[0].Slots - _caches[0].Held;

    public int Admit(IReadOnlyList<Sequence> newcomers)
    {
        var cached = 0;
        foreach (var sequence in newcomers)
        {
            // The n choices of one request (and identical prompts admitted before the first of them ran) are
            // prefilled once: the others copy its cached positions and read the same logits.
            var source = _admitted.FirstOrDefault(a => a.Source is null && a.Done == 0 && SamePrompt(a.Sequence.Prompt, sequence.Prompt)
                && a.Sequence.WantsPromptLogprobs == sequence.WantsPromptLogprobs);
            if (source is not null)
            {
                _admitted.Add(new Admitted(sequence, Acquire(), source));
                continue;
            }
            var (slot, shared) = Place(sequence);
            _admitted.Add(new Admitted(sequence, slot, null) { Done = shared });
            cached += shared;
        }
        Changed();
        return cached;
    }

    /// <summary>
    /// A slot for a newcomer and how many of its prompt tokens it already caches: the lowest free slot, holding the
    /// longest prefix of the prompt any slot caches (in place when the lowest free slot is where it was left, else
    /// copied there). At least the prompt's last token always runs, for its logits; a scored prompt runs whole.
    /// </summary>
    private (int Slot, int Shared) Place(Sequence sequence)
    {
        var (best, length) = (-1, 0);
        if (_prefixCaching && !sequence.WantsPromptLogprobs)
        {
            var limit = sequence.Prompt.Count - 1;
            for (var slot = 0; slot < _tokens.Length; slot++)
            {
                var held = _caches[0].IsHeld(slot);
                var valid = held ? _caches[0].Length(slot) : _caches[0].Left(slot);
                var shared = SharedPrefix(sequence.Prompt, _tokens[slot], Math.Min(valid, limit));
                // A free slot is preferred on a tie: if it is the lowest free one, taking it copies nothing.
                if (shared > length || (shared == length && shared > 0 && !held && _caches[0].IsHeld(best))) (best, length) = (slot, shared);
            }
        }
        if (length < MinSharedPrefix) return (Acquire(), 0);
        var lowestFree = Enumerable.Range(0, _tokens.Length).First(slot => !_caches[0].IsHeld(slot));
        if (!_caches[0].IsHeld(best))
        {
            foreach (var cache in _caches)
            {
                if (!cache.TryAcquire(best, length)) throw new InvalidOperationException($"slot {best} went out of step across the models' caches.");
            }
            _tokens[best].RemoveRange(length, _tokens[best].Count - length);
            if (best == lowestFree) return (best, length);
            // A decode step runs every slot up to the highest one held, so a sequence in a high slot costs padding rows on
            // every step it lives: the prefix moves down to the lowest free slot instead (a copy, not a forward pass), and
            // the slot it came from is free again with the prefix still in it.
            var moved = Acquire();
            CopySlot(best, moved, length);
            Release(best);
            return (moved, length);
        }
        var target = Acquire();
        CopySlot(best, target, length);
        return (target, length);
    }

    /// <summary>Makes held slot <paramref name="to"/> cache the first <paramref name="positions"/> of held slot <paramref name="from"/>'s, in every model's cache, tokens included.</summary>
    private void CopySlot(int from, int to, int positions)
    {
        foreach (var cache in _caches) cache.CopyPositions(from, to, positions);
        _tokens[to].Clear();
        _tokens[to].AddRange(_tokens[from].Take(positions));
    }

    private static int SharedPrefix(IReadOnlyList<int> prompt, List<int> cached, int limit)
    {
        var n = Math.Min(limit, cached.Count);
        var i = 0;
        while (i < n && prompt[i] == cached[i]) i++;
        return i;
    }

    public Prefilled Prefill(int tokens)
    {
        var rows = new List<PrefilledRow>();
        var slots = new List<int>();
        var run = 0;
        var complete = new Dictionary<Admitted, StepLogits>();
        foreach (var entry in _admitted.Where(a => a.Source is null).ToList())
        {
            if (run >= tokens) break;
            // A prompt that is scored keeps every position's logits, so it runs in one piece.
            var chunk = entry.Sequence.WantsPromptLogprobs ? entry.Remaining : Math.Min(entry.Remaining, tokens - run);
            var keep = entry.Sequence.WantsPromptLogprobs ? LogitPositions.All : LogitPositions.Last;
            var piece = entry.Sequence.Prompt.Skip(entry.Done).Take(chunk).ToArray();
            var step = Run((model, cache) => model.Extend(cache, entry.Slot, piece, keep));
            _tokens[entry.Slot].AddRange(piece);
            (entry.Done, run) = (entry.Done + chunk, run + chunk);
            if (entry.Remaining == 0) complete[entry] = step;
        }
        foreach (var entry in _admitted.ToList())
        {
            if (!complete.TryGetValue(entry.Source ?? entry, out var step)) continue;
            if (entry.Source is { } source) CopySlot(source.Slot, entry.Slot, _caches[0].Length(source.Slot));
            _admitted.Remove(entry);
            // The step covers the last chunk: the prompt's last token is its last position.
            rows.Add(new PrefilledRow(entry.Sequence, step, 0, step.Base.Sequence - entry.Sequence.Prompt.Count));
            slots.Add(entry.Slot);
        }
        Changed();
        // Newcomers that do not join (finished at their first token) give their slot back.
        return new Prefilled(rows, run, () =>
        {
            foreach (var slot in slots.Where(s => _caches[0].IsHeld(s) && !_rows.Any(r => r.Slot == s))) Release(slot);
        }) { Slots = slots };
    }

    public void Join(Prefilled prefill, IReadOnlyList<int> joining)
    {
        foreach (var j in joining) _rows.Add((prefill.Rows[j].Sequence, prefill.Slots![j]));
        _rows.Sort((a, b) => a.Slot.CompareTo(b.Slot));
        Changed();
    }

    public StepLogits Decode()
    {
        var slots = _rows.Select(r => r.Slot).ToList();
        var tokens = _rows.Select(r => r.Sequence.PendingToken).ToList();
        var step = Run((model, cache) => model.Decode(cache, slots, tokens));
        for (var i = 0; i < slots.Count; i++) _tokens[slots[i]].Add(tokens[i]);
        return step;
    }

    public void Remove(IReadOnlySet<Sequence> leaving)
    {
        foreach (var row in _rows.Where(r => leaving.Contains(r.Sequence))) Release(row.Slot);
        _rows.RemoveAll(r => leaving.Contains(r.Sequence));
        foreach (var entry in _admitted.Where(a => leaving.Contains(a.Sequence)).ToList())
        {
            Release(entry.Slot);
            _admitted.Remove(entry);
            // Its copies run the prompt themselves now: the first of them becomes the source of the others.
            var copies = _admitted.Where(a => a.Source == entry).ToList();
            if (copies.Count == 0) continue;
            var index = _admitted.IndexOf(copies[0]);
            var successor = new Admitted(copies[0].Sequence, copies[0].Slot, null);
            _admitted[index] = successor;
            foreach (var copy in copies.Skip(1)) _admitted[_admitted.IndexOf(copy)] = new Admitted(copy.Sequence, copy.Slot, successor);
        }
        Changed();
    }

    public void Clear()
    {
        foreach (var cache in _caches)
        {
            for (var slot = 0; slot < cache.Slots; slot++)
            {
                if (cache.IsHeld(slot)) cache.Release(slot);
                // After a failed step nothing cached is trusted again.
                cache.Overwritten(slot);
            }
        }
        foreach (var tokens in _tokens) tokens.Clear();
        _rows.Clear();
        _admitted.Clear();
        Changed();
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
        _tokens[slot].Clear();
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
