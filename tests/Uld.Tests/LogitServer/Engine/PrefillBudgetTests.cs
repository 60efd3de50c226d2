using Uld.LogitServer.Engine;

namespace Uld.Tests.LogitServer.Engine;

/// <summary>The chunked-prefill budget as arithmetic: what it allows before and after it has measured anything.</summary>
public sealed class PrefillBudgetTests
{
    [Fact]
    public void With_nothing_decoding_or_chunking_off_a_prompt_runs_whole()
    {
        Assert.Equal(PrefillBudget.Unlimited, new PrefillBudget(1.0, 16).Next(streamsDecoding: false));
        var off = new PrefillBudget(0, 16);
        off.ObserveDecode(0.01);
        off.ObservePrefill(100, 0.1);
        Assert.Equal(PrefillBudget.Unlimited, off.Next(streamsDecoding: true));
    }

    [Fact]
    public void Before_any_measurement_a_chunk_is_the_minimum()
    {
        var budget = new PrefillBudget(1.0, 16);
        Assert.Equal(16, budget.Next(streamsDecoding: true));
        budget.ObservePrefill(100, 0.1); // a rate, but no decode step yet
        Assert.Equal(16, budget.Next(streamsDecoding: true));
    }

    [Theory]
    [InlineData(1.0, 0.050, 0.010, 0.0002)] // a 110M-like model: 50 ms decode steps, 10 ms per call, 0.2 ms per prompt token
    [InlineData(0.5, 0.050, 0.010, 0.0002)]
    [InlineData(2.0, 0.004, 0.001, 0.00001)] // a tiny model: overhead-bound
    public void Driven_by_a_linear_cost_the_chunk_converges_to_the_share_of_a_decode_step(double share, double decode, double overhead, double perToken)
    {
        var budget = new PrefillBudget(share, 16);
        var chunk = budget.Next(streamsDecoding: true);
        for (var i = 0; i < 30; i++)
        {
            budget.ObserveDecode(decode);
            budget.ObservePrefill(chunk, overhead + perToken * chunk);
            chunk = budget.Next(streamsDecoding: true);
        }
        // The chunk whose time is share × decode: overhead + perToken × chunk = share × decode.
        var expected = (share * decode - overhead) / perToken;
        Assert.InRange(chunk, expected * 0.95, expected * 1.05);
        Assert.InRange(overhead + perToken * chunk, share * decode * 0.95, share * decode * 1.05);
    }

    [Fact]
    public void When_one_call_costs_more_than_the_share_the_minimum_chunk_still_progresses()
    {
        var budget = new PrefillBudget(0.1, 16);
        budget.ObserveDecode(0.001);
        budget.ObservePrefill(16, 0.010);
        Assert.Equal(16, budget.Next(streamsDecoding: true));
    }
}
