using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Uld.Trainer.Safetensors;

/// <summary>Where a tensor's bytes sit in a safetensors file (already checked against the file's length).</summary>
internal sealed record StoredTensor(string Path, SafeTensorLayout Layout, long Offset)
{
    public SafeTensor Load()
    {
        var data = new byte[Layout.ByteLength];
        Read(0, data);
        return new SafeTensor(Layout.Name, Layout.Dtype, Layout.Shape, data);
    }

    /// <summary>Fills <paramref name="destination"/> from byte <paramref name="offset"/> of this tensor.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Layout.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + destination.Length} are outside tensor {Layout.Name} ({Layout.ByteLength} bytes).");
        using var handle = File.OpenHandle(Path);
        for (var read = 0; read < destination.Length;)
        {
            var n = RandomAccess.Read(handle, destination[read..], Offset + offset + read);
            if (n == 0) throw new EndOfStreamException($"{Path} ended inside tensor {Layout.Name}.");
            read += n;
        }
    }
}

/// <summary>
/// Tensors of one or more safetensors files read on lookup and not cached, so that importing a checkpoint holds one
/// tensor at a time besides the model it fills (a multi-GB checkpoint is never in memory twice).
/// </summary>
internal sealed class StoredTensors(IReadOnlyDictionary<string, StoredTensor> stored) : IReadOnlyDictionary<string, SafeTensor>, ITensorShapes, ITensorReader
{
    public long[] ShapeOf(string name) => stored[name].Layout.Shape;

    public bool ReadFloat32(string name, long offset, Span<byte> destination)
    {
        var tensor = stored[name];
        if (tensor.Layout.Dtype != "F32") return false;
        tensor.Read(offset, destination);
        return true;
    }

    public SafeTensor this[string key] => stored[key].Load();
    public IEnumerable<string> Keys => stored.Keys;
    public IEnumerable<SafeTensor> Values => stored.Values.Select(t => t.Load());
    public int Count => stored.Count;
    public bool ContainsKey(string key) => stored.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out SafeTensor value)
    {
        value = stored.TryGetValue(key, out var t) ? t.Load() : null;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, SafeTensor>> GetEnumerator() =>
        stored.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.Load())).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
