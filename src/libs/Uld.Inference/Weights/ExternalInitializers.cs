using Google.Protobuf;

namespace Uld.Inference.Weights;

/// <summary>An initializer whose bytes live in an external data file (ONNX's <c>data_location = EXTERNAL</c>).</summary>
/// <param name="DataType">ONNX TensorProto.DataType, the same numbering as ONNX Runtime's TensorElementType.</param>
public sealed record ExternalInitializer(string Name, int DataType, long[] Dims, string DataPath, long Offset, long Length);

/// <summary>
/// Reads the external initializers an ONNX model declares: ModelProto.graph (7) → GraphProto.initializer (5) →
/// TensorProto dims (1), data_type (2), name (8), external_data (13: location, offset, length). Only the graph file is
/// read (a few hundred KB even for a 1B model); the weights stay where they are.
/// </summary>
public static class ExternalInitializers
{
    public static IReadOnlyList<ExternalInitializer> Read(string onnxPath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(onnxPath))!;
        var result = new List<ExternalInitializer>();
        var model = new CodedInputStream(File.ReadAllBytes(onnxPath));
        uint tag;
        while ((tag = model.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 7)
            {
                model.SkipLastField();
                continue;
            }
            var graph = new CodedInputStream(model.ReadBytes().ToByteArray());
            while ((tag = graph.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == 5) { if (Tensor(graph.ReadBytes(), directory) is { } t) result.Add(t); }
                else graph.SkipLastField();
            }
        }
        return result;
    }

    private static ExternalInitializer? Tensor(ByteString bytes, string directory)
    {
        var tensor = new CodedInputStream(bytes.ToByteArray());
        var dims = new List<long>();
        var (dataType, name) = (0, "");
        var external = new Dictionary<string, string>(StringComparer.Ordinal);
        uint tag;
        while ((tag = tensor.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    var packed = new CodedInputStream(tensor.ReadBytes().ToByteArray());
                    while (!packed.IsAtEnd) dims.Add(packed.ReadInt64());
                    break;
                case 1: dims.Add(tensor.ReadInt64()); break;
                case 2: dataType = tensor.ReadInt32(); break;
                case 8: name = tensor.ReadString(); break;
                case 13:
                    var entry = new CodedInputStream(tensor.ReadBytes().ToByteArray());
                    var (key, value) = ("", "");
                    while ((tag = entry.ReadTag()) != 0)
                    {
                        switch (WireFormat.GetTagFieldNumber(tag))
                        {
                            case 1: key = entry.ReadString(); break;
                            case 2: value = entry.ReadString(); break;
                            default: entry.SkipLastField(); break;
                        }
                    }
                    external[key] = value;
                    break;
                default: tensor.SkipLastField(); break;
            }
        }
        if (!external.TryGetValue("location", out var location)) return null;
        var offset = external.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var length = external.TryGetValue("length", out var l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : -1;
        return new ExternalInitializer(name, dataType, [.. dims], Path.Combine(directory, location), offset, length);
    }
}
