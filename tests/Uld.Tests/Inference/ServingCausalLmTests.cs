using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Tests.Support;

namespace Uld.Tests.Inference;

/// <summary>
/// The serving graph over a <see cref="KvSlots"/> cache, on stories260K (GQA 8:4, head size 8): the same logits as
/// onnx/model.onnx, the same greedy text as <see cref="GreedyDecoder"/>, slots reused without touching their neighbours.
/// </summary>
public sealed class ServingCausalLmTests
{
    private const double Bound = 1e-4;
    private static ModelDirectory Model => ModelDirectory.Open(Stories260KModels.BaseDirectory);

    [Fact]
    public void Prefill_of_different_lengths_then_batched_decode_matches_model_onnx()
    {
        var (maxDiff, compared) = ServingParity.Measure(Model, [7, 13, 2], decodeSteps: 6, seed: 5);
        Assert.Equal((7 + 13 + 2 + 3 * 6) * 512L, compared);
        Assert.InRange(maxDiff, 0, Bound);
    }

    [Fact]
    public void Greedy_decoding_through_slots_equals_OnnxCausalLm_and_a_released_slot_serves_the_next_prompt()
    {
        var model = Model;
        int[][] prompts = [[1, 403, 407, 261, 378], [1, 333, 273], [1, 426, 275, 301, 382, 289, 343, 308]];
        const int tokens = 24;
        using var reference = new OnnxCausalLm(model.OnnxPath);
        var expected = prompts.Select(p => GreedyDecoder.Generate(reference, p, tokens)).ToArray();

        using var serving = new ServingCausalLm(model.ServingOnnxPath);
        using var slots = serving.CreateSlots(2, 40);
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        var slotOf = new Dictionary<int, int>();
        void Admit(int prompt)
        {
            Assert.True(slots.TryAcquire(out var slot));
            slotOf[prompt] = slot;
            generated[prompt].Add(GreedyDecoder.ArgMax(serving.Extend(slots, slot, prompts[prompt]).Row(0, prompts[prompt].Length - 1)));
        }

        Admit(0);
        Admit(1);
        Assert.False(slots.TryAcquire(out _));
        // Prompt 1 stops after 6 tokens; prompt 2 takes its slot while prompt 0 goes on decoding beside it.
        while (generated[0].Count < tokens || generated[2].Count < tokens)
        {
            if (generated[1].Count == 6 && slotOf.ContainsKey(1))
            {
                var freed = slotOf[1];
                slots.Release(freed);
                slotOf.Remove(1);
                Admit(2);
                Assert.Equal(freed, slotOf[2]);
                continue;
            }
            var active = slotOf.Where(p => generated[p.Key].Count < tokens).OrderBy(p => p.Value).ToList();
            var step = serving.Decode(slots, active.Select(p => p.Value).ToList(), active.Select(p => generated[p.Key][^1]).ToList());
            for (var i = 0; i < active.Count; i++) generated[active[i].Key].Add(GreedyDecoder.ArgMax(step.Row(i, 0)));
        }

        Assert.Equal(expected[0], generated[0]);
        Assert.Equal(expected[1].Take(6), generated[1]);
        Assert.Equal(expected[2], generated[2]);
        Assert.Equal(prompts[0].Length + tokens - 1, slots.Length(slotOf[0]));
    }

    [Fact]
    public void A_prompt_extended_in_chunks_has_the_logits_of_one_prefill()
    {
        int[] prompt = [1, 403, 407, 261, 378, 333, 273, 426, 275, 301, 382, 289, 343];
        using var serving = new ServingCausalLm(Model.ServingOnnxPath);
        using var slots = serving.CreateSlots(2, 32);
        Assert.True(slots.TryAcquire(out var whole));
        Assert.True(slots.TryAcquire(out var chunked));
        var expected = serving.Extend(slots, whole, prompt, LogitPositions.All);
        var position = 0;
        foreach (var size in new[] { 5, 1, 4, 3 })
        {
            var step = serving.Extend(slots, chunked, prompt[position..(position + size)], LogitPositions.All);
            for (var t = 0; t < size; t++)
            {
                var a = step.Row(0, t);
                var b = expected.Row(0, position + t);
                for (var v = 0; v < serving.Vocab; v++) Assert.InRange(Math.Abs(a[v] - b[v]), 0, Bound);
            }
            position += size;
        }
        Assert.Equal(prompt.Length, slots.Length(chunked));
        // Decoding on from either slot gives the same next logits.
        var next = serving.Decode(slots, [whole, chunked], [308, 308]);
        for (var v = 0; v < serving.Vocab; v++) Assert.InRange(Math.Abs(next.Row(0, 0)[v] - next.Row(1, 0)[v]), 0, Bound);
    }

    [Fact]
    public void A_step_that_does_not_fit_or_names_an_empty_slot_is_refused()
    {
        using var serving = new ServingCausalLm(Model.ServingOnnxPath);
        using var slots = serving.CreateSlots(2, 4);
        Assert.True(slots.TryAcquire(out var slot));
        Assert.Contains("do not fit", Assert.Throws<ArgumentException>(() => serving.Extend(slots, slot, [1, 2, 3, 4, 5])).Message);
        Assert.Contains("prefill it first", Assert.Throws<ArgumentException>(() => serving.Decode(slots, [slot], [1])).Message);
        Assert.Contains("not held", Assert.Throws<ArgumentException>(() => serving.Extend(slots, 1, [1])).Message);
        serving.Extend(slots, slot, [1, 2, 3, 4]);
        Assert.Contains("is full", Assert.Throws<ArgumentException>(() => serving.Decode(slots, [slot], [1])).Message);
        Assert.Equal(4, slots.Length(slot));
    }
}
