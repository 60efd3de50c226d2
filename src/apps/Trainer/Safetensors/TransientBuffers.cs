namespace Uld.Trainer.Safetensors;

/// <summary>
/// Weight streaming (safetensors and ONNX reads and writes) makes one short-lived array per tensor. Arrays that
/// large live on the large-object heap, which is collected only with generation 2; at multi-GB model sizes the GC
/// otherwise lets a gigabyte or more of written tensors pile up before that happens, on top of the model itself.
/// Collecting after each large tensor keeps the peak at the model plus one tensor, for a few ms per tensor.
/// </summary>
public static class TransientBuffers
{
    private const long CollectAbove = 32L << 20;

    /// <summary>Call once a tensor of <paramref name="bytes"/> bytes is no longer referenced.</summary>
    public static void Released(long bytes)
    {
        if (bytes >= CollectAbove) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
    }
}
