using Uld.Contracts;
using Uld.Tokenization.Protobuf;

namespace Uld.Trainer.Onnx;

/// <summary>
/// Serialises an <see cref="OnnxGraph"/> as an ONNX ModelProto (field numbers from onnx/onnx.proto). Initializers
/// go inline, or — when their total size passes <see cref="ExternalDataThreshold"/> — into a sibling
/// "&lt;model&gt;.onnx_data" file referenced by location/offset/length, the layout ONNX Runtime and Optimum read.
/// </summary>
public sealed class OnnxModelWriter
{
    public const long IrVersion = 8;
    public const long Opset = 17;
    /// <summary>Version of ONNX Runtime's contrib domain, imported only by graphs that use one of its operators (MatMulNBits).</summary>
    public const string ContribDomain = "com.microsoft";
    private const long ContribOpset = 1;
    /// <summary>
    /// Above this many bytes of weights they go to the data file. Protobuf messages are limited to 2 GiB, but memory
    /// decides first: an inline model is built as nested messages in memory (several copies of every weight), while
    /// external data is streamed tensor by tensor. Measured on a 110M-parameter model (512 MB of weights):
    /// export-onnx peaks at 5.3 GB inline and 2.0 GB with external data, and runs twice as fast.
    /// </summary>
    public const long DefaultExternalDataThreshold = 64L << 20;
    /// <summary>Offsets in the data file are page-aligned so that runtimes can memory-map each tensor.</summary>
    private const int ExternalAlignment = 4096;
    /// <summary>
    /// Small tensors (shapes, axes, scalars) stay inline: shape inference must read them when the graph loads,
    /// and onnx's own external-data conversion uses the same 1 KiB cut-off.
    /// </summary>
    private const int InlineBelowBytes = 1024;

    public long ExternalDataThreshold { get; init; } = DefaultExternalDataThreshold;
    public string ProducerName { get; init; } = "uldserver";
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Writes <paramref name="path"/> (and its data file when needed) atomically; returns the files written.</summary>
    public IReadOnlyList<string> Write(OnnxGraph graph, string path) => Write(graph, path, out _);

    /// <summary>As <see cref="Write(OnnxGraph, string)"/>; <paramref name="data"/> says where the data file holds each tensor (null: all inline).</summary>
    public IReadOnlyList<string> Write(OnnxGraph graph, string path, out ExternalData? data)
    {
        var totalBytes = graph.Initializers.Where(i => i.ByteLength >= InlineBelowBytes).Sum(i => i.ByteLength);
        var dataPath = path + "_data";
        var external = totalBytes > ExternalDataThreshold;
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        var lengths = new Dictionary<string, long>(StringComparer.Ordinal);
        if (external)
        {
            AtomicFile.Write(dataPath, stream =>
            {
                foreach (var init in graph.Initializers.Where(i => i.ByteLength >= InlineBelowBytes))
                {
                    var padding = (ExternalAlignment - stream.Position % ExternalAlignment) % ExternalAlignment;
                    stream.Write(new byte[padding]);
                    offsets[init.Name] = stream.Position;
                    lengths[init.Name] = init.ByteLength;
                    init.WriteTo(stream);
                    Safetensors.TransientBuffers.Released(init.ByteLength);
                }
            });
        }
        else if (File.Exists(dataPath))
        {
            File.Delete(dataPath);
        }

        var dataFileName = Path.GetFileName(dataPath);
        WriteModel(graph, path, external ? offsets : null, dataFileName);
        data = external ? new ExternalData(dataFileName, offsets.ToDictionary(o => o.Key, o => (o.Value, lengths[o.Key]), StringComparer.Ordinal)) : null;
        return external ? [path, dataPath] : [path];
    }

    /// <summary>
    /// Writes a graph whose weights another graph already wrote to <paramref name="data"/> (a data file in the same
    /// folder): each initializer found there under its name and length is referenced, not written again, and whatever
    /// is left goes inline. Graphs built from the same weights by <see cref="LlamaOnnxExporter"/> share every weight.
    /// </summary>
    public IReadOnlyList<string> WriteSharing(OnnxGraph graph, string path, ExternalData data)
    {
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        long inline = 0;
        foreach (var init in graph.Initializers.Where(i => i.ByteLength >= InlineBelowBytes))
        {
            if (data.Tensors.TryGetValue(init.Name, out var at) && at.Length == init.ByteLength) offsets[init.Name] = at.Offset;
            else inline += init.ByteLength;
        }
        if (inline > ExternalDataThreshold)
            throw new InvalidOperationException($"{path}: {inline} bytes of initializers are not in {data.FileName}; a graph sharing it must add only small ones.");
        WriteModel(graph, path, offsets, data.FileName);
        return [path];
    }

    private void WriteModel(OnnxGraph graph, string path, Dictionary<string, long>? offsets, string dataFileName)
    {
        var model = new ProtoBuilder()
            .Int64(1, IrVersion)
            .String(2, ProducerName)
            .Message(8, o => o.String(1, "").Int64(2, Opset));
        if (graph.Nodes.Any(n => n.Domain == ContribDomain)) model.Message(8, o => o.String(1, ContribDomain).Int64(2, ContribOpset));
        model.Message(7, g => WriteGraph(g, graph, offsets, dataFileName));
        foreach (var (key, value) in Metadata) model.Message(14, m => m.String(1, key).String(2, value));
        var bytes = model.ToArray();
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static void WriteGraph(ProtoBuilder g, OnnxGraph graph, Dictionary<string, long>? externalOffsets, string dataFileName)
    {
        foreach (var node in graph.Nodes) g.Message(1, n => WriteNode(n, node));
        g.String(2, graph.Name);
        foreach (var init in graph.Initializers) g.Message(5, t => WriteTensor(t, init, externalOffsets, dataFileName));
        foreach (var input in graph.Inputs) g.Message(11, v => WriteValueInfo(v, input));
        foreach (var output in graph.Outputs) g.Message(12, v => WriteValueInfo(v, output));
    }

    private static void WriteNode(ProtoBuilder n, OnnxNode node)
    {
        foreach (var input in node.Inputs) n.String(1, input);
        foreach (var output in node.Outputs) n.String(2, output);
        n.String(3, node.Name).String(4, node.OpType);
        if (node.Domain.Length > 0) n.String(7, node.Domain);
        foreach (var attribute in node.Attributes)
        {
            n.Message(5, a =>
            {
                a.String(1, attribute.Name);
                switch (attribute)
                {
                    case FloatAttribute f: a.Float(2, f.Value).Int32(20, 1); break;
                    case IntAttribute i: a.Int64(3, i.Value).Int32(20, 2); break;
                    case IntsAttribute ints:
                        foreach (var v in ints.Values) a.Int64(8, v);
                        a.Int32(20, 7);
                        break;
                }
            });
        }
    }

    private static void WriteTensor(ProtoBuilder t, OnnxInitializer init, Dictionary<string, long>? externalOffsets, string dataFileName)
    {
        foreach (var d in init.Dims) t.Int64(1, d);
        t.Int32(2, (int)init.Type).String(8, init.Name);
        if (externalOffsets is null || !externalOffsets.ContainsKey(init.Name))
        {
            t.Bytes(9, init.Bytes());
            return;
        }
        t.Message(13, e => e.String(1, "location").String(2, dataFileName));
        t.Message(13, e => e.String(1, "offset").String(2, externalOffsets[init.Name].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        t.Message(13, e => e.String(1, "length").String(2, init.ByteLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        t.Int32(14, 1); // data_location = EXTERNAL
    }

    private static void WriteValueInfo(ProtoBuilder v, OnnxValueInfo info)
    {
        v.String(1, info.Name);
        v.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int32(1, (int)info.Type);
            tensor.Message(2, shape =>
            {
                foreach (var dim in info.Shape)
                {
                    shape.Message(1, d =>
                    {
                        if (dim.Value is { } value) d.Int64(1, value);
                        else d.String(2, dim.Param!);
                    });
                }
            });
        }));
    }
}

/// <summary>Where a written data file holds each external initializer: its file name (beside the model) and (offset, length) by name.</summary>
public sealed record ExternalData(string FileName, IReadOnlyDictionary<string, (long Offset, long Length)> Tensors);
