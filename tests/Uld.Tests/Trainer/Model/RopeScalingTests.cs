using Uld.Contracts.Models;
using Uld.Trainer.Model;

namespace Uld.Tests.Trainer.Model;

/// <summary>rope_scaling frequencies against transformers' formulas on Llama-3.2-1B's settings.</summary>
public sealed class RopeScalingTests
{
    private static readonly RopeScaling Llama32 = new(RopeScaling.Llama3, Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192);

    [Fact]
    public void Llama3_scaling_keeps_short_wavelengths_divides_long_ones_and_blends_between()
    {
        var plain = RotaryEmbedding.InverseFrequencies(64, 500000);
        var scaled = RotaryEmbedding.InverseFrequencies(64, 500000, Llama32);
        // Wavelength 2π/f below 8192/4 = 2048 tokens: unchanged (indices 0–14 for θ = 500000, d = 64).
        Assert.Equal(plain[..15], scaled[..15]);
        // Above 8192 tokens: divided by the factor.
        for (var i = 18; i < 32; i++) Assert.Equal(plain[i] / 32, scaled[i], 1e-6f * plain[i]);
        // In between: transformers' smooth blend; index 16 has wavelength 4442.9 → 4.2955680e-4.
        Assert.Equal(4.2955680e-4f, scaled[16], 1e-10f);
        Assert.Equal(1.2905479e-3f, scaled[15], 1e-9f);
    }

    [Fact]
    public void Linear_scaling_divides_every_frequency()
    {
        var plain = RotaryEmbedding.InverseFrequencies(32, 10000);
        var scaled = RotaryEmbedding.InverseFrequencies(32, 10000, new RopeScaling(RopeScaling.Linear, 4));
        Assert.Equal(plain.Select(f => f / 4), scaled, (a, b) => Math.Abs(a - b) <= 1e-7f * Math.Abs(a));
    }

    [Theory]
    [InlineData("""{"rope_type":"default"}""", null)]
    [InlineData("""{"type":"linear","factor":2.0}""", "linear")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}""", "llama3")]
    public void Parses_the_supported_spellings(string json, string? type) =>
        Assert.Equal(type, RopeScaling.Parse(System.Text.Json.Nodes.JsonNode.Parse(json), "config.json")?.Type);

    [Theory]
    [InlineData("""{"rope_type":"dynamic","factor":2.0}""", "rope_scaling.rope_type")]
    [InlineData("""{"rope_type":"linear","factor":-1}""", "rope_scaling.factor")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":4.0,"high_freq_factor":1.0,"original_max_position_embeddings":8192}""", "high_freq_factor")]
    public void Refuses_what_it_cannot_compute_naming_the_key(string json, string key)
    {
        var error = Assert.Throws<ModelFormatException>(() => RopeScaling.Parse(System.Text.Json.Nodes.JsonNode.Parse(json), "config.json"));
        Assert.Contains(key, error.Message);
    }
}
