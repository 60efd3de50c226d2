using Uld.Contracts.Models;
using Uld.Contracts;
namespace Uld.Trainer.Safetensors;

/// <summary>One tensor of a safetensors file: raw little-endian bytes plus dtype and shape.</summary>
public sealed record SafeTensor(string Name, string Dtype, long[] Shape, byte[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public static int DtypeSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => throw new ModelFormatException($"unknown safetensors dtype \"{dtype}\""),
    };

    public static SafeTensor FromFloats(string name, long[] shape, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(bytes);
        return new SafeTensor(name, "F32", shape, bytes);
    }

    /// <summary>The values as float32, widening F16 and BF16 exactly.</summary>
    public float[] ToFloats()
    {
        var result = new float[checked((int)ElementCount)];
        CopyFloats(result);
        return result;
    }

    /// <summary>
    /// The values as float32 little-endian bytes, ONNX's raw-data layout: an F32 tensor's own buffer (no copy: at 1B
    /// parameters an embedding table is 1 GB), others widened straight into one new buffer.
    /// </summary>
    public byte[] Float32Bytes()
    {
        if (Dtype == "F32") return Data;
        var bytes = new byte[checked(ElementCount * sizeof(float))];
        CopyFloats(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan()));
        return bytes;
    }

    /// <summary>The values as float32 without a copy when stored as F32, else widened into a new array.</summary>
    public ReadOnlySpan<float> Floats() =>
        Dtype == "F32" ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Data.AsSpan()) : ToFloats();

    private void CopyFloats(Span<float> result)
    {
        var n = checked((int)ElementCount);
        switch (Dtype)
        {
            case "F32":
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Data.AsSpan()).CopyTo(result);
                break;
            case "F16":
                for (var i = 0; i < n; i++) result[i] = (float)BitConverter.ToHalf(Data, 2 * i);
                break;
            case "BF16":
                // bfloat16 is the upper half of a float32.
                for (var i = 0; i < n; i++) result[i] = BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(Data, 2 * i) << 16);
                break;
            default:
                throw new ModelFormatException($"tensor {Name} has dtype {Dtype}; only F32, F16 and BF16 weights are supported.");
        }
    }
}

/// <summary>What a safetensors header says about a tensor, without its data.</summary>
public sealed record SafeTensorLayout(string Name, string Dtype, long[] Shape)
{
    public long ByteLength => Shape.Aggregate(1L, (a, b) => a * b) * SafeTensor.DtypeSize(Dtype);
}
