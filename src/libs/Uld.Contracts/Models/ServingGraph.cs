namespace Uld.Contracts.Models;

/// <summary>
/// The I/O names of the serving graph, <c>onnx/serving.onnx</c> (docs/DESIGN.md, *The serving graph and its slot
/// cache*): Contract 2's decoder whose attention is ONNX Runtime's com.microsoft GroupQueryAttention over a cache
/// preallocated to its maximum length and written in place. Its cache tensors keep Contract 2's names
/// (<c>past_key_values.{i}.key</c> → <c>present.{i}.key</c>), now [batch, kv_heads, max_length, head_dim] and
/// bound to one buffer; there is no <c>attention_mask</c>.
/// </summary>
public static class ServingGraph
{
    public const string InputIds = "input_ids";
    public const string PositionIds = "position_ids";
    /// <summary>int32 [batch]: per row, the number of cached positions after this step, minus one.</summary>
    public const string SeqlensK = "seqlens_k";
    /// <summary>int32 scalar: the largest total length of any row after this step.</summary>
    public const string TotalSequenceLength = "total_sequence_length";
    public const string Logits = "logits";
    /// <summary>The cache's length axis: fixed by the buffer a runner binds, not by the graph.</summary>
    public const string MaxLength = "max_sequence_length";

    public static string PastKey(int layer) => $"past_key_values.{layer}.key";
    public static string PastValue(int layer) => $"past_key_values.{layer}.value";
    public static string PresentKey(int layer) => $"present.{layer}.key";
    public static string PresentValue(int layer) => $"present.{layer}.value";

    /// <summary>
    /// Whether a model of this head size can have a serving graph: GroupQueryAttention's CPU kernel takes head sizes
    /// that are multiples of 8 only.
    /// </summary>
    public static bool Supports(int headDim) => headDim % 8 == 0;
}
