using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Uld.Inference;

/// <summary>
/// The in-place KV cache of the serving graph (docs/DESIGN.md, *The serving graph and its slot cache*): per layer,
/// one key and one value buffer of [slots, kv_heads, max_length, head_dim] floats in native memory, allocated once
/// and owned here (Dispose frees them), plus each slot's cached length. A sequence holds one slot from its prefill to
/// its end: <see cref="ServingCausalLm"/> writes its new positions into the slot in place, and <see cref="Release"/>
/// frees the slot without copying anything. Pages are committed as sequences first write them, so a cache sized for
/// the worst case costs only what is used. Not thread-safe: one scheduler thread owns it.
/// </summary>
public sealed class KvSlots : IDisposable
{
    private readonly nint[] _keys;
    private readonly nint[] _values;
    private readonly int[] _lengths;
    private readonly bool[] _held;
    /// <summary>Positions a free slot still holds from its last sequence (0 once anything may have overwritten them).</summary>
    private readonly int[] _left;
    private bool _disposed;

    public KvSlots(int layers, int slots, int kvHeads, int maxLength, int headDim)
    {
        if (layers <= 0 || slots <= 0 || kvHeads <= 0 || maxLength <= 0 || headDim <= 0)
            throw new ArgumentException($"a slot cache needs positive sizes; got {layers} layers, {slots} slots, {kvHeads} kv heads, max length {maxLength}, head size {headDim}.");
        (Layers, Slots, KvHeads, MaxLength, HeadDim) = (layers, slots, kvHeads, maxLength, headDim);
        SlotBytes = checked((long)kvHeads * maxLength * headDim * sizeof(float));
        var layerBytes = checked(SlotBytes * slots);
        (_keys, _values) = (new nint[layers], new nint[layers]);
        (_lengths, _held, _left) = (new int[slots], new bool[slots], new int[slots]);
        try
        {
            for (var l = 0; l < layers; l++)
            {
                _keys[l] = Marshal.AllocHGlobal((nint)layerBytes);
                _values[l] = Marshal.AllocHGlobal((nint)layerBytes);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Layers { get; }
    public int Slots { get; }
    public int KvHeads { get; }
    public int MaxLength { get; }
    public int HeadDim { get; }
    /// <summary>Bytes of one slot in one layer's key (or value) buffer.</summary>
    public long SlotBytes { get; }
    /// <summary>Bytes the buffers reserve: 2 × layers × slots × <see cref="SlotBytes"/>.</summary>
    public long ReservedBytes => 2L * Layers * Slots * SlotBytes;
    /// <summary>Slots held by a sequence.</summary>
    public int Held => _held.Count(h => h);

    /// <summary>The lowest free slot, now held with nothing cached; false when all are held.</summary>
    public bool TryAcquire(out int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        slot = Array.IndexOf(_held, false);
        if (slot < 0) return false;
        (_held[slot], _lengths[slot], _left[slot]) = (true, 0, 0);
        return true;
    }

    /// <summary>
    /// Takes free slot <paramref name="slot"/>, keeping the first <paramref name="keep"/> positions its last sequence
    /// left there (a prefix the new one shares: they are not computed again); false if the slot is held.
    /// </summary>
    public bool TryAcquire(int slot, int keep)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (slot < 0 || slot >= Slots) throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is not one of 0–{Slots - 1}.");
        if (_held[slot]) return false;
        if (keep < 0 || keep > _left[slot]) throw new ArgumentOutOfRangeException(nameof(keep), $"slot {slot} has {_left[slot]} positions left; {keep} cannot be kept.");
        (_held[slot], _lengths[slot], _left[slot]) = (true, keep, 0);
        return true;
    }

    /// <summary>
    /// Frees a held slot. Its positions stay where they are (<see cref="Left"/>) until another sequence, or a step that
    /// writes into the free slot (<see cref="Overwritten"/>), replaces them.
    /// </summary>
    public void Release(int slot)
    {
        CheckHeld(slot);
        (_held[slot], _left[slot], _lengths[slot]) = (false, _lengths[slot], 0);
    }

    /// <summary>Positions free slot <paramref name="slot"/> still holds from its last sequence (0 for a held slot).</summary>
    public int Left(int slot) => _held[slot] ? 0 : _left[slot];

    /// <summary>Marks what a free slot holds as gone: a step ran a padding row through it.</summary>
    public void Overwritten(int slot)
    {
        if (!_held[slot]) _left[slot] = 0;
    }

    public bool IsHeld(int slot) => slot >= 0 && slot < Slots && _held[slot];

    /// <summary>Positions cached in a held slot.</summary>
    public int Length(int slot)
    {
        CheckHeld(slot);
        return _lengths[slot];
    }

    internal void Advance(int slot, int positions) => _lengths[slot] += positions;

    /// <summary>
    /// Makes held slot <paramref name="to"/> cache exactly the first <paramref name="positions"/> (default: all) of
    /// what held slot <paramref name="from"/> does: a prompt or prefix prefilled once serves every sequence that starts
    /// with it (n &gt; 1, a shared system prompt), at the cost of a copy of its positions instead of a forward pass over them.
    /// </summary>
    public void CopyPositions(int from, int to, int? positions = null)
    {
        CheckHeld(from);
        CheckHeld(to);
        var length = positions ?? _lengths[from];
        if (length < 0 || length > _lengths[from]) throw new ArgumentOutOfRangeException(nameof(positions), $"slot {from} holds {_lengths[from]} positions; {length} cannot be copied.");
        if (from == to) return;
        var count = length * HeadDim;
        for (var l = 0; l < Layers; l++)
        {
            foreach (var key in (bool[])[true, false])
            {
                using var source = View(l, key, from, 1);
                using var target = View(l, key, to, 1);
                var src = source.GetTensorDataAsSpan<float>();
                var dst = target.GetTensorMutableDataAsSpan<float>();
                // [kv_heads, max_length, head_dim]: each head's first `length` positions are one contiguous run.
                for (var h = 0; h < KvHeads; h++)
                {
                    var at = h * MaxLength * HeadDim;
                    src.Slice(at, count).CopyTo(dst.Slice(at, count));
                }
            }
        }
        _lengths[to] = length;
    }

    /// <summary>
    /// A tensor over slots [<paramref name="first"/>, first + count) of a layer's key or value buffer — the memory
    /// itself, not a copy: contiguous because a slot is the outermost axis. The caller disposes the view, never the memory.
    /// </summary>
    internal OrtValue View(int layer, bool key, int first, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var start = (key ? _keys : _values)[layer] + (nint)(first * SlotBytes);
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
            [count, KvHeads, MaxLength, HeadDim], start, count * SlotBytes);
    }

    private void CheckHeld(int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!IsHeld(slot)) throw new ArgumentException($"slot {slot} is not held (slots 0–{Slots - 1}).", nameof(slot));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var p in _keys.Concat(_values).Where(p => p != 0)) Marshal.FreeHGlobal(p);
    }
}
