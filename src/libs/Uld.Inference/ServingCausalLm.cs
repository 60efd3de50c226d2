using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;

namespace Uld.Inference;

/// <summary>
/// An ONNX Runtime session over a serving graph (docs/DESIGN.md, *The serving graph and its slot cache*) that runs
/// steps on the slots of a <see cref="KvSlots"/>. Every step binds each layer's past and present to the same slot
/// memory through an <see cref="OrtIoBinding"/>, so GroupQueryAttention appends the new positions where they belong and
/// nothing else of the cache moves: no Concat of the past, no copy when a row joins or leaves.
/// <para>
/// A prompt is prefilled alone (<see cref="Extend"/>, batch 1, over its own slot): GroupQueryAttention's CPU kernel
/// takes several new tokens per row only when every row of the call has the same number, or with batch 1. A decode
/// step (<see cref="Decode"/>) runs one token for each listed slot in one call over the slots [0, highest listed];
/// a slot in that range that is not listed costs one padding row (decode is bound by reading the weights, not by rows).
/// </para>
/// </summary>
public sealed class ServingCausalLm : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    /// <summary>The graph can compute the last position's logits alone (<see cref="OnnxCausalLm.LogitsLastOnlyInput"/>); null if not.</summary>
    private readonly OrtValue? _lastOnly;

    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Vocab { get; }

    public ServingCausalLm(string servingPath, SessionOptions? options = null, PrePackedWeightsContainer? prepacked = null)
    {
        if (!File.Exists(servingPath)) throw new FileNotFoundException($"serving graph {servingPath} does not exist.", servingPath);
        using var quiet = options is null ? OnnxCausalLm.Quiet(new SessionOptions()) : null;
        _session = prepacked is null ? new InferenceSession(servingPath, options ?? quiet!) : new InferenceSession(servingPath, options ?? quiet!, prepacked);
        try
        {
            var inputs = _session.InputMetadata;
            foreach (var required in new[] { ServingGraph.InputIds, ServingGraph.PositionIds, ServingGraph.SeqlensK, ServingGraph.TotalSequenceLength, ServingGraph.PastKey(0) })
            {
                if (!inputs.ContainsKey(required))
                    throw new InvalidDataException($"{servingPath} has no input \"{required}\"; it is not a serving graph (docs/DESIGN.md, The serving graph and its slot cache).");
            }
            Layers = inputs.Keys.Count(k => k.StartsWith("past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
            var kvShape = inputs[ServingGraph.PastKey(0)].Dimensions;
            (KvHeads, HeadDim) = (kvShape[1], kvShape[3]);
            if (!_session.OutputMetadata.TryGetValue(ServingGraph.Logits, out var logits))
                throw new InvalidDataException($"{servingPath} has no output \"{ServingGraph.Logits}\".");
            Vocab = logits.Dimensions[2];
            if (KvHeads <= 0 || HeadDim <= 0 || Vocab <= 0)
                throw new InvalidDataException($"{servingPath} must declare fixed kv_heads, head_dim and vocab sizes.");
            if (_session.OverridableInitializerMetadata.ContainsKey(OnnxCausalLm.LogitsLastOnlyInput))
                _lastOnly = OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, []);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A slot cache for this graph: <paramref name="slots"/> sequences of up to <paramref name="maxLength"/> positions each.</summary>
    public KvSlots CreateSlots(int slots, int maxLength) => new(Layers, slots, KvHeads, maxLength, HeadDim);

    /// <summary>
    /// Appends <paramref name="tokens"/> to a held slot — its prompt when the slot is empty — at positions
    /// [length, length + tokens): one row, logits of every new position or only the last (<paramref name="keep"/>).
    /// </summary>
    public DecoderStep Extend(KvSlots cache, int slot, IReadOnlyList<int> tokens, LogitPositions keep = LogitPositions.Last)
    {
        CheckCache(cache);
        var past = cache.Length(slot);
        var seq = tokens.Count;
        if (seq == 0) throw new ArgumentException("at least one token is needed.", nameof(tokens));
        if (past + seq > cache.MaxLength)
            throw new ArgumentException($"slot {slot} holds {past} positions; {seq} more do not fit in its {cache.MaxLength}.", nameof(tokens));

        var ids = new long[seq];
        var positions = new long[seq];
        for (var t = 0; t < seq; t++) (ids[t], positions[t]) = (tokens[t], past + t);
        var lastOnly = keep == LogitPositions.Last && seq > 1 && _lastOnly is not null;
        var computed = lastOnly ? 1 : seq;
        var logits = new float[computed * Vocab];
        Run(cache, slot, 1, ids, positions, [past + seq - 1], past + seq, logits, computed, lastOnly);
        cache.Advance(slot, seq);
        if (keep == LogitPositions.Last && computed > 1) logits = logits[((computed - 1) * Vocab)..];
        return new DecoderStep(logits, null, 1, seq, Vocab, KvCache.HeldElsewhere(1));
    }

    /// <summary>
    /// One token per listed slot (each held and holding at least one position), appended in place; the step's row i
    /// is <paramref name="slots"/>[i]. Held slots in range that are not listed are left as they are.
    /// </summary>
    public DecoderStep Decode(KvSlots cache, IReadOnlyList<int> slots, IReadOnlyList<int> tokens)
    {
        CheckCache(cache);
        if (slots.Count == 0 || slots.Count != tokens.Count) throw new ArgumentException("one token per slot, at least one slot.", nameof(tokens));
        var span = slots.Max() + 1;
        var ids = new long[span];
        var positions = new long[span];
        var seqlens = new int[span];
        var listed = new bool[span];
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            var length = cache.Length(slot);
            if (listed[slot]) throw new ArgumentException($"slot {slot} is listed twice.", nameof(slots));
            if (length == 0) throw new ArgumentException($"slot {slot} holds nothing yet; prefill it first.", nameof(slots));
            if (length >= cache.MaxLength) throw new ArgumentException($"slot {slot} is full ({cache.MaxLength} positions).", nameof(slots));
            listed[slot] = true;
            (ids[slot], positions[slot], seqlens[slot]) = (tokens[i], length, length);
        }
        for (var slot = 0; slot < span; slot++)
        {
            if (listed[slot]) continue;
            // A free slot's padding row writes its position 0: what its last sequence left there is gone.
            if (!cache.IsHeld(slot))
            {
                cache.Overwritten(slot);
                continue;
            }
            // A held slot that sits this step out: its padding row writes one position past its end, which its own
            // next step overwrites. A full slot has no such position.
            var length = cache.Length(slot);
            if (length >= cache.MaxLength) throw new InvalidOperationException($"slot {slot} is full and not in this step; release it first.");
            (positions[slot], seqlens[slot]) = (length, length);
        }

        var contiguous = slots.Count == span && slots.Select((s, i) => s == i).All(x => x);
        var all = new float[span * Vocab];
        Run(cache, 0, span, ids, positions, seqlens, seqlens.Max() + 1, all, 1, lastOnly: false);
        foreach (var slot in slots) cache.Advance(slot, 1);
        var logits = all;
        if (!contiguous)
        {
            logits = new float[slots.Count * Vocab];
            for (var i = 0; i < slots.Count; i++) all.AsSpan(slots[i] * Vocab, Vocab).CopyTo(logits.AsSpan(i * Vocab, Vocab));
        }
        return new DecoderStep(logits, null, slots.Count, 1, Vocab, KvCache.HeldElsewhere(slots.Count));
    }

    /// <summary>One session run over slots [first, first + batch), its logits written straight into <paramref name="logits"/>.</summary>
    private void Run(KvSlots cache, int first, int batch, long[] ids, long[] positions, int[] seqlensK, int total, float[] logits, int logitPositions, bool lastOnly)
    {
        var seq = ids.Length / batch;
        var owned = new List<OrtValue>(4 + 2 * Layers);
        try
        {
            using var binding = _session.CreateIoBinding();
            OrtValue Own(OrtValue value)
            {
                owned.Add(value);
                return value;
            }
            binding.BindInput(ServingGraph.InputIds, Own(OrtValue.CreateTensorValueFromMemory(ids, [batch, seq])));
            binding.BindInput(ServingGraph.PositionIds, Own(OrtValue.CreateTensorValueFromMemory(positions, [batch, seq])));
            binding.BindInput(ServingGraph.SeqlensK, Own(OrtValue.CreateTensorValueFromMemory(seqlensK, [batch])));
            binding.BindInput(ServingGraph.TotalSequenceLength, Own(OrtValue.CreateTensorValueFromMemory(new[] { total }, [])));
            if (lastOnly) binding.BindInput(OnnxCausalLm.LogitsLastOnlyInput, _lastOnly!);
            binding.BindOutput(ServingGraph.Logits, Own(OrtValue.CreateTensorValueFromMemory(logits, [batch, logitPositions, Vocab])));
            for (var l = 0; l < Layers; l++)
            {
                // The same memory in and out: GroupQueryAttention sees past == present and writes in place.
                var key = Own(cache.View(l, key: true, first, batch));
                var value = Own(cache.View(l, key: false, first, batch));
                binding.BindInput(ServingGraph.PastKey(l), key);
                binding.BindInput(ServingGraph.PastValue(l), value);
                binding.BindOutput(ServingGraph.PresentKey(l), key);
                binding.BindOutput(ServingGraph.PresentValue(l), value);
            }
            _session.RunWithBinding(_runOptions, binding);
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }
    }

    private void CheckCache(KvSlots cache)
    {
        if (cache.Layers != Layers || cache.KvHeads != KvHeads || cache.HeadDim != HeadDim)
            throw new ArgumentException($"the cache is [{cache.Layers} layers, {cache.KvHeads} kv heads, head size {cache.HeadDim}]; this graph needs [{Layers}, {KvHeads}, {HeadDim}].", nameof(cache));
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        _lastOnly?.Dispose();
    }
}
