namespace Uld.Inference;

/// <summary>Which positions of a step's logits leave ONNX Runtime.</summary>
public enum LogitPositions
{
    /// <summary>Every position, [batch, seq, vocab]: scoring a prompt (echo + logprobs), export checks.</summary>
    All,
    /// <summary>Only the last position of each row, [batch, 1, vocab]: what decoding samples from.</summary>
    Last,
}

/// <summary>
/// Logits of one step and the cache that continues it. <see cref="Logits"/> holds the rows of
/// <see cref="Positions"/> (all <see cref="Sequence"/> positions, or only the last); a fused ULD graph also returns
/// <see cref="UldLogits"/> = l_base − α·l_assistant in the same layout.
/// </summary>
public sealed record DecoderStep(float[] Logits, float[]? UldLogits, int Batch, int Sequence, int Vocab, KvCache Present)
{
    public int Positions => Logits.Length / (Batch * Vocab);

    /// <summary>Base logits at <paramref name="position"/> (0 ≤ position &lt; <see cref="Sequence"/>) of a row.</summary>
    public ReadOnlySpan<float> Row(int batchIndex, int position) => Slice(Logits, batchIndex, position);

    /// <summary>l_base − α·l_assistant at a position; empty when the step did not come from a fused ULD graph.</summary>
    public ReadOnlySpan<float> UldRow(int batchIndex, int position) => UldLogits is null ? default : Slice(UldLogits, batchIndex, position);

    private ReadOnlySpan<float> Slice(float[] values, int batchIndex, int position)
    {
        var kept = Positions;
        var offset = position - (Sequence - kept);
        if (offset < 0 || offset >= kept)
            throw new ArgumentOutOfRangeException(nameof(position), $"position {position} was not kept (this step holds the last {kept} of {Sequence}).");
        return values.AsSpan((batchIndex * kept + offset) * Vocab, Vocab);
    }
}
