using Uld.Inference.Sampling;
using Uld.LogitServer.Engine;

namespace Uld.Tests.LogitServer.Engine;

/// <summary><see cref="SlotBatch"/>'s placement of newcomers, driven directly on the TOFU-mini target's serving graph.</summary>
public sealed class SlotBatchTests(EngineDeployments deployments) : IClassFixture<EngineDeployments>
{
    [Fact]
    public void A_prefix_left_in_a_high_free_slot_moves_down_to_the_lowest_free_one()
    {
        var d = deployments.PlainInPlace;
        using var batch = new SlotBatch(d.ServingModel!, d.ServingCompanions, concurrent: false, slots: 3, d.ContextLength, "test");
        Sequence Greedy(string text) => new(d.Tokenizer.Encode(text, addBos: true), new SamplingParameters(SamplingSettings.Greedy, 0, 0, 0), 4);
        var first = new[] { Greedy("Alpha beta gamma delta."), Greedy("Where was the author born?"), Greedy("Name every book the author wrote.") };
        Assert.Equal(0, batch.Admit(first));
        using (var prefill = batch.Prefill(int.MaxValue))
        {
            Assert.Equal([0, 1, 2], prefill.Slots);
        } // none joins: the three slots are free again, each with its prompt left in it

        var next = new Sequence([.. first[2].Prompt, .. d.Tokenizer.Encode(" And when?", addBos: false)], new SamplingParameters(SamplingSettings.Greedy, 0, 0, 0), 4);
        Assert.Equal(first[2].Prompt.Count, batch.Admit([next]));
        using var moved = batch.Prefill(int.MaxValue);
        // Slot 2's prefix, copied into slot 0: a single sequence in slot 2 would run two padding rows every step.
        Assert.Equal([0], moved.Slots);
        Assert.Equal(next.Prompt.Count - first[2].Prompt.Count, moved.Tokens);
    }
}
