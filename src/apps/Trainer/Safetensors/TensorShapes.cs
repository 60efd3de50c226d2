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

public static class TensorShapes
{
    /// <summary>The shape of <paramref name="name"/>: from the view's layout when it has one, else from the tensor itself.</summary>
    public static long[] ShapeOf(this IReadOnlyDictionary<string, SafeTensor> tensors, string name) =>
        tensors is ITensorShapes shapes && tensors.ContainsKey(name) ? shapes.ShapeOf(name)
        : tensors.TryGetValue(name, out var t) ? t.Shape
        : throw new Uld.Contracts.Models.ModelFormatException($"weights have no tensor {name}.");
}
