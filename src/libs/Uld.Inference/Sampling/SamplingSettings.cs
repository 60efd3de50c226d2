namespace Uld.Inference.Sampling;

/// <summary>
/// What one request asks of the sampler, with OpenAI and vLLM semantics; the defaults change nothing. Ranges are the
/// API's to check (LogitServer's admission), not this type's: it carries values, the sampler applies them.
/// </summary>
public sealed record SamplingSettings
{
    /// <summary>0 is greedy (argmax after the logit adjustments).</summary>
    public double Temperature { get; init; } = 1;
    /// <summary>Nucleus: the smallest most-likely set whose mass reaches top_p (1 = off).</summary>
    public double TopP { get; init; } = 1;
    /// <summary>vLLM: only the k most likely tokens (0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>vLLM: drop tokens with p &lt; min_p · p_max (0 = off).</summary>
    public double MinP { get; init; }
    /// <summary>OpenAI: subtracted per earlier occurrence of a token in this choice's output.</summary>
    public double FrequencyPenalty { get; init; }
    /// <summary>OpenAI: subtracted once from every token already in this choice's output.</summary>
    public double PresencePenalty { get; init; }
    /// <summary>vLLM/CTRL: divides positive and multiplies negative logits of prompt and output tokens (1 = off).</summary>
    public double RepetitionPenalty { get; init; } = 1;
    /// <summary>OpenAI: added to the logit of each listed token id.</summary>
    public IReadOnlyDictionary<int, float> LogitBias { get; init; } = new Dictionary<int, float>();
    /// <summary>With a seed each choice draws from its own generator (<see cref="ChoiceRandom"/>); without, from a fresh one.</summary>
    public long? Seed { get; init; }

    public static SamplingSettings Greedy { get; } = new() { Temperature = 0 };
}
