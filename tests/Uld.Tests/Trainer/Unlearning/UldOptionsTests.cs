using Uld.Trainer.Unlearning;

namespace Uld.Tests.Trainer.Unlearning;

public sealed class UldOptionsTests
{
    [Theory]
    [InlineData(160, 400, 40)]  // forget4 (80 answers + 80 same-author swaps): 10 steps per epoch, 40 epochs are already 400 steps
    [InlineData(80, 400, 80)]   // forget2: 5 steps per epoch → 80 epochs
    [InlineData(40, 400, 134)]  // forget1: 3 steps per epoch → ⌈400 / 3⌉ epochs
    [InlineData(40, 0, 40)]     // no floor: exactly the configured epochs
    [InlineData(1000, 400, 40)] // large sets never train fewer epochs than configured
    public void Small_forget_sets_get_more_epochs_until_they_reach_the_minimum_steps(int forgetExamples, int minSteps, int epochs)
    {
        var options = new UldOptions { MinSteps = minSteps };
        Assert.Equal(16, options.Training.BatchSize);
        Assert.Equal(epochs, options.EpochsFor(forgetExamples));
    }
}
