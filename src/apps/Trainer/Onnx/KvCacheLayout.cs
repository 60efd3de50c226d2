namespace Uld.Trainer.Onnx;

/// <summary>How a decoder graph takes and returns its KV cache.</summary>
public enum KvCacheLayout
{
    /// <summary>
    /// Contract 2 (Optimum's decoder with past): present = Concat(past, new) per layer, a new tensor every step,
    /// attention masked by <c>attention_mask</c>. onnx/model.onnx.
    /// </summary>
    Concat,
    /// <summary>
    /// The serving graph (docs/DESIGN.md, *The serving graph and its slot cache*): com.microsoft GroupQueryAttention
    /// over a cache of the maximum length, present and past bound to one buffer and written in place. onnx/serving.onnx.
    /// </summary>
    InPlace,
}
