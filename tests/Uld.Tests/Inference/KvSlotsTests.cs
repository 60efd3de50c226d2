using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Tests.Support;

namespace Uld.Tests.Inference;

/// <summary><see cref="KvSlots"/>' bookkeeping: lowest free slot first, lengths per slot, release without a copy, clear errors.</summary>
public sealed class KvSlotsTests
{
    [Fact]
    public void Slots_are_handed_out_lowest_first_and_a_released_one_comes_back_empty()
    {
        using var model = new ServingCausalLm(ModelDirectory.Open(Stories260KModels.BaseDirectory).ServingOnnxPath);
        using var slots = model.CreateSlots(3, 16);
        Assert.Equal((long)model.KvHeads * 16 * model.HeadDim * sizeof(float), slots.SlotBytes);
        Assert.Equal(2L * model.Layers * 3 * slots.SlotBytes, slots.ReservedBytes);
        var taken = new List<int>();
        while (slots.TryAcquire(out var slot)) taken.Add(slot);
        Assert.Equal([0, 1, 2], taken);
        Assert.Equal(3, slots.Held);

        model.Extend(slots, 1, [1, 403, 407, 261, 378]);
        Assert.Equal(5, slots.Length(1));
        slots.Release(1);
        Assert.False(slots.IsHeld(1));
        Assert.True(slots.TryAcquire(out var again));
        Assert.Equal(1, again);
        Assert.Equal(0, slots.Length(1));
    }

    [Fact]
    public void Free_or_unknown_slots_and_a_disposed_cache_are_refused()
    {
        var slots = new KvSlots(1, 2, 1, 8, 8);
        Assert.Contains("not held", Assert.Throws<ArgumentException>(() => slots.Release(0)).Message);
        Assert.Contains("not held", Assert.Throws<ArgumentException>(() => slots.Length(5)).Message);
        Assert.Contains("positive sizes", Assert.Throws<ArgumentException>(() => new KvSlots(1, 0, 1, 8, 8)).Message);
        slots.Dispose();
        slots.Dispose(); // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => slots.TryAcquire(out _));
    }

    [Fact]
    public void A_copied_prompt_decodes_exactly_as_the_same_prompt_prefilled_again()
    {
        using var model = new ServingCausalLm(ModelDirectory.Open(Stories260KModels.BaseDirectory).ServingOnnxPath);
        using var slots = model.CreateSlots(3, 32);
        int[] prompt = [1, 403, 407, 261, 378, 300, 301];
        for (var i = 0; i < 3; i++) Assert.True(slots.TryAcquire(out _));
        model.Extend(slots, 0, prompt);
        model.Extend(slots, 2, prompt);
        model.Extend(slots, 1, [1, 500]); // something else in the target slot first: the copy must replace it
        slots.CopyPositions(0, 1);
        Assert.Equal(prompt.Length, slots.Length(1));

        var step = model.Decode(slots, [0, 1, 2], [290, 290, 290]);
        var copied = step.Row(1, 0).ToArray();
        Assert.Equal(step.Row(0, 0).ToArray(), copied);
        var prefilled = step.Row(2, 0).ToArray();
        Assert.True(copied.Zip(prefilled).Max(p => Math.Abs(p.First - p.Second)) < 1e-5f);
        Assert.Throws<ArgumentException>(() => slots.CopyPositions(0, 5));
    }

    [Fact]
    public void A_freed_slot_keeps_its_positions_until_a_step_writes_into_it_and_a_prefix_of_them_can_be_taken_back()
    {
        using var model = new ServingCausalLm(ModelDirectory.Open(Stories260KModels.BaseDirectory).ServingOnnxPath);
        using var slots = model.CreateSlots(3, 32);
        int[] prompt = [1, 403, 407, 261, 378, 300, 301];
        for (var i = 0; i < 3; i++) Assert.True(slots.TryAcquire(out _));
        model.Extend(slots, 0, prompt);
        model.Extend(slots, 2, prompt[..5]);
        slots.Release(0);
        Assert.Equal(7, slots.Left(0));
        Assert.Equal(0, slots.Left(2)); // held: nothing "left"

        // Taking back 5 of its 7 positions and running the rest gives what running the whole prompt gives.
        Assert.Contains("cannot be kept", Assert.Throws<ArgumentOutOfRangeException>(() => slots.TryAcquire(0, 8)).Message);
        Assert.True(slots.TryAcquire(0, 5));
        Assert.False(slots.TryAcquire(0, 0)); // held now
        Assert.Equal((5, 0), (slots.Length(0), slots.Left(0)));
        var kept = model.Extend(slots, 0, prompt[5..]).Row(0, 1).ToArray();
        slots.CopyPositions(0, 1, 5);
        Assert.Equal(5, slots.Length(1));
        var copied = model.Extend(slots, 1, prompt[5..]).Row(0, 1).ToArray();
        model.Extend(slots, 2, prompt[5..]);
        Assert.Equal(kept, copied);
        Assert.Throws<ArgumentOutOfRangeException>(() => slots.CopyPositions(0, 1, 8));

        // A decode step over slots 0–2 with slot 1 free runs a padding row through it: what it left is gone.
        slots.Release(1);
        Assert.Equal(7, slots.Left(1));
        model.Decode(slots, [0, 2], [290, 290]);
        Assert.Equal(0, slots.Left(1));
        Assert.Contains("cannot be kept", Assert.Throws<ArgumentOutOfRangeException>(() => slots.TryAcquire(1, 1)).Message);
    }
}
