using System.Globalization;
using Uld.Contracts.OpenAi;
using Uld.Inference.Sampling;

namespace Uld.LogitServer.Admission;

/// <summary>
/// A request's sampling controls, checked against the OpenAI (and, for top_k, min_p and repetition_penalty, vLLM)
/// ranges and turned into the sampler's settings. A value out of range is a 400 naming the field.
/// </summary>
public static class SamplingControls
{
    public const double MaxPenalty = 2;
    public const double MaxBias = 100;

    /// <param name="vocabSize">Token ids below it are the ones <c>logit_bias</c> may name.</param>
    public static SamplingSettings Read(CompletionRequestBase r, int vocabSize)
    {
        var temperature = r.Temperature ?? 1.0;
        if (!(temperature is >= 0 and <= 2)) throw OpenAiException.InvalidRequest("'temperature' must be between 0 and 2.", "temperature");
        var topP = r.TopP ?? 1.0;
        if (!(topP is > 0 and <= 1)) throw OpenAiException.InvalidRequest("'top_p' must be in (0, 1].", "top_p");
        var topK = r.TopK ?? 0;
        if (topK < -1) throw OpenAiException.InvalidRequest("'top_k' must be -1 or 0 (all tokens) or at least 1.", "top_k", "integer_below_min_value");
        var repetition = r.RepetitionPenalty ?? 1;
        if (!(repetition > 0 && double.IsFinite(repetition)))
            throw OpenAiException.InvalidRequest("'repetition_penalty' must be a number greater than 0.", "repetition_penalty", "decimal_below_min_value");

        return new SamplingSettings
        {
            Temperature = temperature,
            TopP = topP,
            TopK = Math.Max(topK, 0),
            MinP = InRange("min_p", r.MinP ?? 0, 0, 1),
            FrequencyPenalty = InRange("frequency_penalty", r.FrequencyPenalty ?? 0, -MaxPenalty, MaxPenalty),
            PresencePenalty = InRange("presence_penalty", r.PresencePenalty ?? 0, -MaxPenalty, MaxPenalty),
            RepetitionPenalty = repetition,
            LogitBias = LogitBias(r.LogitBias, vocabSize),
            Seed = r.Seed,
        };
    }

    private static double InRange(string param, double value, double min, double max) =>
        value >= min && value <= max ? value : throw OpenAiException.OutOfRange(param, value, min, max);

    private static Dictionary<int, float> LogitBias(IReadOnlyDictionary<string, double>? bias, int vocabSize)
    {
        var result = new Dictionary<int, float>();
        foreach (var (key, value) in bias ?? new Dictionary<string, double>())
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var token) || token >= vocabSize)
            {
                throw OpenAiException.InvalidRequest(
                    $"Invalid key in 'logit_bias': '{key}' is not a token id of this model; keys must be integers from 0 to {vocabSize - 1}.",
                    "logit_bias", "invalid_logit_bias");
            }
            // Two spellings of one id ("5", "05") would otherwise be summed; refusing keeps the bias what was written.
            if (!result.TryAdd(token, (float)InRange("logit_bias", value, -MaxBias, MaxBias)))
                throw OpenAiException.InvalidRequest($"Invalid key in 'logit_bias': token {token} is given more than once.", "logit_bias", "invalid_logit_bias");
        }
        return result;
    }
}
