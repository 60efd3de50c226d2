namespace Uld.Trainer.Safetensors;

/// <summary>
/// A tensor view that knows its tensors' shapes without producing their data. The lazy views (a safetensors file read
/// on lookup, a TorchSharp model copied out on lookup) implement it, so that laying out a graph does not read or copy
/// every weight once more before the writer streams it.
/// </summary>
public interface ITensorShapes
{
    long[] ShapeOf(string name);
}

/// <summary>
/// A tensor view that writes a tensor's float32 bytes to a stream from where they live (TorchSharp's native memory)
/// without a managed copy: at 1B parameters the tied embedding alone is 1 GB, and a byte[] of it beside the model is
/// what lifted writing above the model's size + 1.5 GB.
/// </summary>
public interface ITensorWriter
{
    void WriteFloat32(string name, Stream destination);
}

/// <summary>
/// A tensor view over a file that reads an F32 tensor's bytes straight into the caller's memory (a model parameter's
/// native storage): loading then holds the model and nothing else, not the model plus its largest tensor as a byte[].
/// </summary>
public interface ITensorReader
{
    /// <summary>Fills <paramref name="destination"/> from byte <paramref name="offset"/> of the tensor; false if it is not stored as F32.</summary>
    bool ReadFloat32(string name, long offset, Span<byte> destination);
}

public static class TensorShapes
{
    /// <summary>The shape of <paramref name="name"/>: from the view's layout when it has one, else from the tensor itself.</summary>
    public static long[] ShapeOf(this IReadOnlyDictionary<string, SafeTensor> tensors, string name) =>
        tensors is ITensorShapes shapes && tensors.ContainsKey(name) ? shapes.ShapeOf(name)
        : tensors.TryGetValue(name, out var t) ? t.Shape
        : throw new Uld.Contracts.Models.ModelFormatException($"weights have no tensor {name}.");
}
