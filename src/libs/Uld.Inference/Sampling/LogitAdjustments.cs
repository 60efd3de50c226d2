namespace Uld.Inference.Sampling;

/// <summary>
/// A choice's logit adjustments, in vLLM's order: logit_bias, then the repetition penalty (CTRL: a logit of a token
/// already in the prompt or output is divided by the penalty if positive, multiplied if not), then OpenAI's
/// frequency and presence penalties (l[t] −= c[t]·frequency + (c[t] &gt; 0)·presence, c counting this choice's
/// output only). A −∞ logit (a token the decode rule masked) stays −∞: no adjustment brings it back.
/// </summary>
public sealed class LogitAdjustments
{
    private readonly SamplingSettings _settings;
    private readonly Dictionary<int, int> _outputCounts = [];
    /// <summary>Prompt and output tokens, kept only when the repetition penalty needs them.</summary>
    private readonly HashSet<int>? _seen;

    public LogitAdjustments(SamplingSettings settings, IEnumerable<int> prompt)
    {
        _settings = settings;
        if (settings.RepetitionPenalty != 1) _seen = [.. prompt];
    }

    public void Apply(Span<float> logits)
    {
        foreach (var (token, bias) in _settings.LogitBias) logits[token] += bias;
        if (_seen is not null)
        {
            var penalty = (float)_settings.RepetitionPenalty;
            foreach (var token in _seen) logits[token] = logits[token] > 0 ? logits[token] / penalty : logits[token] * penalty;
        }
        if (_settings.FrequencyPenalty != 0 || _settings.PresencePenalty != 0)
        {
            foreach (var (token, count) in _outputCounts)
                logits[token] -= (float)(count * _settings.FrequencyPenalty + _settings.PresencePenalty);
        }
    }

    /// <summary>Records a token this choice produced.</summary>
    public void Observe(int token)
    {
        _outputCounts[token] = _outputCounts.GetValueOrDefault(token) + 1;
        _seen?.Add(token);
    }
}
