using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// A contiguous tensor as views of whole rows whose bytes each fit one span. Spans over TorchSharp's native memory are
/// int-sized, so a tensor above 2 GB (an 8B model's embedding) cannot be read or written as one; 256 MB blocks also
/// keep every read and write the same size whatever the model.
/// </summary>
public static class TensorRowBlocks
{
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>Row blocks of <paramref name="tensor"/> (dim 0) with their byte offset; a scalar is one block. Dispose each view.</summary>
    public static IEnumerable<(Tensor Rows, long ByteOffset)> Of(Tensor tensor, long maxBytes = DefaultMaxBytes)
    {
        if (!tensor.is_contiguous()) throw new ArgumentException("row blocks need a contiguous tensor.", nameof(tensor));
        if (tensor.dim() == 0)
        {
            yield return (tensor.alias(), 0);
            yield break;
        }
        var rows = tensor.shape[0];
        if (rows == 0) yield break;
        var rowBytes = tensor.NumberOfElements / rows * tensor.ElementSize;
        var step = Math.Max(1, maxBytes / Math.Max(1, rowBytes));
        for (long start = 0; start < rows; start += step)
            yield return (tensor.narrow(0, start, Math.Min(step, rows - start)), start * rowBytes);
    }
}
