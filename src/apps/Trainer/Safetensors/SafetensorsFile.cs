using Uld.Contracts;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Trainer.Safetensors;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to dtype, shape and byte range, then the raw data. Written hand-rolled because the format is
/// twenty lines of spec and no maintained .NET package is served here. Writing is deterministic (tensors sorted by
/// name, header padded to 8 bytes like the reference implementation), so load → save reproduces a file bit for bit.
/// </summary>
public static class SafetensorsFile
{
    private const long MaxHeaderBytes = 100_000_000;

    private static (Dictionary<string, StoredTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        var fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new ModelFormatException($"{path} is truncated: shorter than the 8-byte safetensors header length.");
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
            throw new ModelFormatException($"{path} is not a safetensors file or is truncated (header length {headerLength}, file {fileLength} bytes).");

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(header)?.AsObject() ?? throw new JsonException("empty header");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFormatException($"{path} has a corrupt safetensors header: {e.Message}");
        }

        var dataStart = 8 + headerLength;
        var metadata = new Dictionary<string, string>();
        var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) metadata[k] = v?.GetValue<string>() ?? "";
                continue;
            }
            var entry = node!.AsObject();
            var dtype = entry["dtype"]!.GetValue<string>();
            var shape = entry["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var offsets = entry["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var expected = shape.Aggregate(1L, (a, b) => a * b) * SafeTensor.DtypeSize(dtype);
            if (offsets.Length != 2 || offsets[1] - offsets[0] != expected)
                throw new ModelFormatException($"{path}: tensor {name} declares {offsets[1] - offsets[0]} bytes but its shape needs {expected}.");
            if (dataStart + offsets[1] > fileLength)
                throw new ModelFormatException($"{path} is truncated: tensor {name} ends at byte {dataStart + offsets[1]} but the file has {fileLength}.");
            tensors[name] = new StoredTensor(path, new SafeTensorLayout(name, dtype, shape), dataStart + offsets[0]);
        }
        return (tensors, metadata);
    }

    /// <summary>Every tensor of a file, read into memory.</summary>
    public static (IReadOnlyDictionary<string, SafeTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        var (stored, metadata) = ReadHeader(path);
        return (stored.Values.ToDictionary(t => t.Layout.Name, t => t.Load(), StringComparer.Ordinal), metadata);
    }

    /// <summary>A file's tensors, each read from disk when it is looked up and not kept: for streaming large checkpoints.</summary>
    public static IReadOnlyDictionary<string, SafeTensor> Open(string path) => new StoredTensors(ReadHeader(path).Tensors);

    /// <summary>As <see cref="Open(string)"/>, only the tensors whose name <paramref name="keep"/> accepts: part of a model (a ULD assistant's first layers) streamed from the whole one's file.</summary>
    public static IReadOnlyDictionary<string, SafeTensor> Open(string path, Func<string, bool> keep) =>
        new StoredTensors(ReadHeader(path).Tensors.Where(kv => keep(kv.Key)).ToDictionary(StringComparer.Ordinal));

    public static void Write(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Write(path, byName.Values.Select(t => new SafeTensorLayout(t.Name, t.Dtype, t.Shape)).ToList(), name => byName[name].Data, metadata);
    }

    /// <summary>
    /// Streams tensors to disk one at a time: the header needs only names, dtypes and shapes, and
    /// <paramref name="data"/> is asked for each tensor's bytes when its turn comes, so a model is never copied whole.
    /// </summary>
    public static void Write(string path, IReadOnlyList<SafeTensorLayout> layout, Func<string, byte[]> data, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, layout, (name, stream) =>
        {
            var bytes = data(name);
            stream.Write(bytes);
            TransientBuffers.Released(bytes.Length);
        }, metadata);

    /// <summary>As above, each tensor written by <paramref name="write"/> straight to the file (checked against its layout).</summary>
    public static void Write(string path, IReadOnlyList<SafeTensorLayout> layout, Action<string, Stream> write, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = layout.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var t in ordered)
        {
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.Dtype,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.ByteLength),
            };
            offset += t.ByteLength;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (headerBytes.Length + 7) / 8 * 8;

        AtomicFile.Write(path, stream =>
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, padded);
            stream.Write(lengthBytes);
            stream.Write(headerBytes);
            for (var i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var t in ordered)
            {
                var start = stream.Position;
                write(t.Name, stream);
                var written = stream.Position - start;
                if (written != t.ByteLength) throw new InvalidOperationException($"tensor {t.Name} has {written} bytes, its layout says {t.ByteLength}.");
            }
        });
    }

    public static IReadOnlyDictionary<string, SafeTensor> ReadCheckpoint(string directory)
    {
        var single = Path.Combine(directory, "model.safetensors");
        if (File.Exists(single)) return Open(single);

        var indexPath = Path.Combine(directory, "model.safetensors.index.json");
        if (!File.Exists(indexPath))
            throw new ModelFormatException($"{directory} has neither model.safetensors nor model.safetensors.index.json (only safetensors checkpoints are supported).");
        JsonObject weightMap;
        try
        {
            weightMap = JsonNode.Parse(File.ReadAllText(indexPath))?["weight_map"]?.AsObject()
                        ?? throw new JsonException("no weight_map");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFormatException($"{indexPath} is not a valid safetensors index: {e.Message}");
        }
        var result = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (var shard in weightMap.Select(kv => kv.Value!.GetValue<string>()).Distinct())
        {
            var shardPath = Path.Combine(directory, shard);
            if (!File.Exists(shardPath)) throw new ModelFormatException($"{indexPath} names shard {shard}, which is missing.");
            foreach (var (name, tensor) in ReadHeader(shardPath).Tensors) result[name] = tensor;
        }
        foreach (var (name, _) in weightMap)
        {
            if (!result.ContainsKey(name)) throw new ModelFormatException($"{indexPath} maps {name} to a shard that does not contain it.");
        }
        return new StoredTensors(result);
    }
}
