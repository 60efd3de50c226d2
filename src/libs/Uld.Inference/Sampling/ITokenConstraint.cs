namespace Uld.Inference.Sampling;

/// <summary>
/// Restricts which tokens may come next (structured output). The sampler asks for the mask after the request's
/// logit adjustments and before choosing, so no bias or penalty can bring a forbidden token back.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Sets the score of every token that may not come next to −∞; false when no token may (not even the end).</summary>
    bool Mask(Span<float> scores);

    /// <summary>Records the token chosen.</summary>
    void Advance(int token);
}
