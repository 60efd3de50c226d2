using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Uld.Contracts.Models;

/// <summary>
/// The rotary-embedding frequency rescalings a decoder can compute from config.json's <c>rope_scaling</c>:
/// <c>linear</c> (position interpolation: every frequency divided by <see cref="Factor"/>) and <c>llama3</c>
/// (Llama-3.1/3.2: long wavelengths divided by the factor, short ones kept, a smooth blend in between).
/// Other schemes (dynamic NTK, YaRN, LongRoPE) change attention beyond the frequencies and are refused.
/// </summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4,
    int OriginalMaxPositionEmbeddings = 8192)
{
    public const string Linear = "linear";
    public const string Llama3 = "llama3";

    /// <summary>Null for an absent, null or <c>"default"</c> rope_scaling; throws naming the key for anything unsupported.</summary>
    public static RopeScaling? Parse(JsonNode? node, string source)
    {
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
        if (node is not JsonObject o) throw Fail(source, "rope_scaling must be an object or null.");
        // Transformers renamed "type" to "rope_type"; checkpoints carry either.
        var type = (o["rope_type"] ?? o["type"])?.GetValue<string>();
        switch (type)
        {
            case null:
                throw Fail(source, "rope_scaling has no rope_type.");
            case "default":
                return null;
            case Linear:
                return new RopeScaling(Linear, Positive(o, "factor", source));
            case Llama3:
                var scaling = new RopeScaling(Llama3, Positive(o, "factor", source), Positive(o, "low_freq_factor", source),
                    Positive(o, "high_freq_factor", source), (int)Positive(o, "original_max_position_embeddings", source));
                if (scaling.HighFreqFactor <= scaling.LowFreqFactor)
                    throw Fail(source, "rope_scaling.high_freq_factor must be greater than rope_scaling.low_freq_factor.");
                return scaling;
            default:
                throw Fail(source, $"unsupported rope_scaling.rope_type \"{type}\"; supported: \"{Linear}\", \"{Llama3}\" (or none).");
        }
    }

    /// <summary>Applies the scaling to 1/θ^(2i/d) computed in double, as transformers does before rounding to float32.</summary>
    public double Rescale(double inverseFrequency)
    {
        if (Type == Linear) return inverseFrequency / Factor;
        // transformers' _compute_llama3_parameters, element by element.
        var lowFreqWavelength = OriginalMaxPositionEmbeddings / LowFreqFactor;
        var highFreqWavelength = OriginalMaxPositionEmbeddings / HighFreqFactor;
        var wavelength = 2 * Math.PI / inverseFrequency;
        if (wavelength < highFreqWavelength) return inverseFrequency;
        if (wavelength > lowFreqWavelength) return inverseFrequency / Factor;
        var smooth = (OriginalMaxPositionEmbeddings / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * inverseFrequency / Factor + smooth * inverseFrequency;
    }

    private static double Positive(JsonObject o, string key, string source)
    {
        var node = o[key];
        if (node is null || node.GetValueKind() != JsonValueKind.Number)
            throw Fail(source, $"rope_scaling.{key} is missing or not a number.");
        var value = node.GetValue<double>();
        if (!(value > 0)) throw Fail(source, $"rope_scaling.{key} must be positive (got {value.ToString(CultureInfo.InvariantCulture)}).");
        return value;
    }

    private static ModelFormatException Fail(string source, string why) => new($"{source}: {why}");
}
