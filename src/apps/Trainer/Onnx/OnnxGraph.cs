namespace Uld.Trainer.Onnx;

/// <summary>ONNX TensorProto.DataType values used by the exporter.</summary>
public enum OnnxType
{
    Float = 1,
    UInt8 = 2,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
}

/// <summary>A dimension: a fixed size or a named symbolic size (dim_param) such as "batch_size".</summary>
public readonly record struct OnnxDim(long? Value, string? Param)
{
    public static implicit operator OnnxDim(long value) => new(value, null);
    public static implicit operator OnnxDim(string param) => new(null, param);
}

public sealed record OnnxValueInfo(string Name, OnnxType Type, OnnxDim[] Shape);

/// <summary>
/// An initializer; its bytes are little-endian raw data of <see cref="Type"/>. Model weights are
/// <see cref="Deferred"/>: produced when the writer reaches them and dropped after, so a graph of a multi-GB model
/// never holds its weights twice.
/// </summary>
public sealed record OnnxInitializer(string Name, OnnxType Type, long[] Dims, byte[] Data)
{
    private Func<byte[]>? _produce;
    private Action<Stream>? _write;
    private long _deferredLength;

    public static OnnxInitializer Deferred(string name, OnnxType type, long[] dims, long byteLength, Func<byte[]> produce) =>
        new(name, type, dims, []) { _produce = produce, _deferredLength = byteLength };

    /// <summary>An initializer whose bytes are written straight to the writer's stream (no buffer of its own).</summary>
    public static OnnxInitializer Streamed(string name, OnnxType type, long[] dims, long byteLength, Action<Stream> write) =>
        new(name, type, dims, []) { _write = write, _deferredLength = byteLength };

    public long ByteLength => _produce is null && _write is null ? Data.Length : _deferredLength;

    /// <summary>The bytes: <see cref="Data"/>, or freshly produced for a deferred initializer (checked against its length).</summary>
    public byte[] Bytes()
    {
        if (_write is not null)
        {
            using var buffer = new MemoryStream(checked((int)_deferredLength));
            WriteTo(buffer);
            return buffer.ToArray();
        }
        if (_produce is null) return Data;
        var bytes = _produce();
        if (bytes.Length != _deferredLength)
            throw new InvalidOperationException($"initializer {Name} produced {bytes.Length} bytes, expected {_deferredLength}.");
        return bytes;
    }

    /// <summary>Writes the bytes to <paramref name="destination"/>, a streamed initializer without materialising them.</summary>
    public void WriteTo(Stream destination)
    {
        if (_write is null)
        {
            destination.Write(Bytes());
            return;
        }
        var start = destination.Position;
        _write(destination);
        if (destination.Position - start != _deferredLength)
            throw new InvalidOperationException($"initializer {Name} wrote {destination.Position - start} bytes, expected {_deferredLength}.");
    }
}

public abstract record OnnxAttribute(string Name);
public sealed record IntAttribute(string Name, long Value) : OnnxAttribute(Name);
public sealed record IntsAttribute(string Name, long[] Values) : OnnxAttribute(Name);
public sealed record FloatAttribute(string Name, float Value) : OnnxAttribute(Name);

/// <summary>A node; <see cref="Domain"/> is empty for standard operators, "com.microsoft" for ONNX Runtime's contrib operators.</summary>
public sealed record OnnxNode(string OpType, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes, string Domain = "");

/// <summary>
/// A small in-memory ONNX graph. Each op helper adds one node and returns its output name, so graph code reads like
/// the computation it exports. Node and value names are unique by construction (a per-name counter).
/// </summary>
public sealed class OnnxGraph(string name)
{
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);

    public string Name { get; } = name;
    public List<OnnxNode> Nodes { get; } = [];
    public List<OnnxInitializer> Initializers { get; } = [];
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];

    public string Input(string name, OnnxType type, params OnnxDim[] shape)
    {
        Inputs.Add(new OnnxValueInfo(name, type, shape));
        return name;
    }

    public void Output(string name, OnnxType type, params OnnxDim[] shape) => Outputs.Add(new OnnxValueInfo(name, type, shape));

    public string Initializer(string name, float[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        Initializers.Add(new OnnxInitializer(name, OnnxType.Float, dims, bytes));
        return name;
    }

    /// <summary>A raw initializer of any type whose bytes are produced only when written.</summary>
    public string DeferredBytes(string name, OnnxType type, long[] dims, long byteLength, Func<byte[]> bytes)
    {
        Initializers.Add(OnnxInitializer.Deferred(name, type, dims, byteLength, bytes));
        return name;
    }

    /// <summary>A raw initializer written straight to the writer's stream when its turn comes.</summary>
    public string StreamedBytes(string name, OnnxType type, long[] dims, long byteLength, Action<Stream> write)
    {
        Initializers.Add(OnnxInitializer.Streamed(name, type, dims, byteLength, write));
        return name;
    }

    public string Int64s(string name, params long[] values)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        Initializers.Add(new OnnxInitializer(Unique(name), OnnxType.Int64, [values.Length], bytes));
        return Initializers[^1].Name;
    }

    public string Int64Scalar(string name, long value)
    {
        Initializers.Add(new OnnxInitializer(Unique(name), OnnxType.Int64, [], BitConverter.GetBytes(value)));
        return Initializers[^1].Name;
    }

    public string FloatScalar(string name, float value)
    {
        Initializers.Add(new OnnxInitializer(Unique(name), OnnxType.Float, [], BitConverter.GetBytes(value)));
        return Initializers[^1].Name;
    }

    /// <summary>Adds a node with one output; <paramref name="output"/> fixes the output's name (graph outputs).</summary>
    public string Op(string opType, string[] inputs, OnnxAttribute[]? attributes = null, string? output = null, string domain = "")
    {
        var nodeName = Unique($"/{opType}");
        output ??= nodeName + "_output_0";
        Nodes.Add(new OnnxNode(opType, nodeName, inputs, [output], attributes ?? [], domain));
        return output;
    }

    /// <summary>Adds a node with several outputs, named by <paramref name="outputs"/> (null: a generated name); returns them.</summary>
    public string[] Ops(string opType, string[] inputs, string?[] outputs, OnnxAttribute[]? attributes = null, string domain = "")
    {
        var nodeName = Unique($"/{opType}");
        var names = outputs.Select((o, i) => o ?? $"{nodeName}_output_{i}").ToArray();
        Nodes.Add(new OnnxNode(opType, nodeName, inputs, names, attributes ?? [], domain));
        return names;
    }

    private string Unique(string name)
    {
        var n = _counters.TryGetValue(name, out var c) ? c + 1 : 0;
        _counters[name] = n;
        return n == 0 ? name : $"{name}_{n}";
    }

    // Op helpers, named after ONNX operators.
    public string Add(string a, string b) => Op("Add", [a, b]);
    public string Sub(string a, string b) => Op("Sub", [a, b]);
    public string Mul(string a, string b) => Op("Mul", [a, b]);
    public string Div(string a, string b) => Op("Div", [a, b]);
    public string Pow(string x, string exponent) => Op("Pow", [x, exponent]);
    public string MatMul(string a, string b) => Op("MatMul", [a, b]);
    public string Neg(string x) => Op("Neg", [x]);
    public string Sqrt(string x) => Op("Sqrt", [x]);
    public string Reciprocal(string x) => Op("Reciprocal", [x]);
    public string Sigmoid(string x) => Op("Sigmoid", [x]);
    public string Cos(string x) => Op("Cos", [x]);
    public string Sin(string x) => Op("Sin", [x]);
    public string Softmax(string x, long axis) => Op("Softmax", [x], [new IntAttribute("axis", axis)]);
    public string Cast(string x, OnnxType to) => Op("Cast", [x], [new IntAttribute("to", (long)to)]);
    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], [new IntsAttribute("perm", perm)]);
    public string Reshape(string x, params long[] shape) => Op("Reshape", [x, Int64s("/shape", shape)]);
    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", [x, Int64s("/axes", axes)]);
    public string Squeeze(string x, params long[] axes) => Op("Squeeze", [x, Int64s("/axes", axes)]);
    public string Expand(string x, params long[] shape) => Op("Expand", [x, Int64s("/expand_shape", shape)]);
    public string Concat(long axis, params string[] inputs) => Op("Concat", inputs, [new IntAttribute("axis", axis)]);
    public string Where(string condition, string x, string y) => Op("Where", [condition, x, y]);
    public string And(string a, string b) => Op("And", [a, b]);
    public string LessOrEqual(string a, string b) => Op("LessOrEqual", [a, b]);
    public string Range(string start, string limit, string delta) => Op("Range", [start, limit, delta]);
    public string Gather(string data, string indices, long axis = 0) => Op("Gather", [data, indices], [new IntAttribute("axis", axis)]);

    public string ReduceMean(string x, long axis) =>
        Op("ReduceMean", [x], [new IntsAttribute("axes", [axis]), new IntAttribute("keepdims", 1)]);

    /// <summary>Shape(x)[start:end] as a 1-D int64 tensor.</summary>
    public string Shape(string x, long start, long end) =>
        Op("Shape", [x], [new IntAttribute("start", start), new IntAttribute("end", end)]);

    public string Slice(string x, long start, long end, long axis) =>
        Op("Slice", [x, Int64s("/starts", start), Int64s("/ends", end), Int64s("/slice_axes", axis)]);
}
