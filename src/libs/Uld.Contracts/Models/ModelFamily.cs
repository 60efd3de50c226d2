namespace Uld.Contracts.Models;

/// <summary>
/// A config.json <c>model_type</c> the Llama decoder implements, and how its block differs from Llama's: Qwen2 adds
/// biases to the q/k/v projections, Qwen3 RMS-normalises every query and key head before the rotation, and Qwen's
/// configs carry a sliding_window that is off unless use_sliding_window says otherwise.
/// </summary>
public sealed record ModelFamily(string ModelType, bool QkvBias = false, bool QkNorm = false, bool SlidingWindowNeedsFlag = false)
{
    public static readonly IReadOnlyList<ModelFamily> Supported =
    [
        new("llama"),
        new("mistral"),
        new("qwen2", QkvBias: true, SlidingWindowNeedsFlag: true),
        new("qwen3", QkNorm: true, SlidingWindowNeedsFlag: true),
    ];

    public static bool IsSupported(string modelType) => Supported.Any(f => f.ModelType == modelType);

    /// <summary>The family of a supported model_type; unknown types behave as plain Llama (Validate refuses them first).</summary>
    public static ModelFamily Of(string modelType) => Supported.FirstOrDefault(f => f.ModelType == modelType) ?? Supported[0];
}
