using Uld.Tests.Support;
using Uld.Trainer.Data;
using Uld.Trainer.Torch;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>
/// D′a, the assistant's "not these" set: its hinge against values worked out by hand, and the batch targets that leave
/// an alternative's true-answer tokens untrained.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class UldAlternativesTests
{
    private const long I = TrainingBatch.Ignore;

    public UldAlternativesTests() => TorchRuntime.EnsureInitialized();

    [Fact]
    public void Below_uniform_hinge_charges_each_token_its_excess_over_uniform_minus_the_margin()
    {
        // V = 4. Row 0: uniform logits, log p + log V = 0 for every token, so the target pays the whole margin (1.5).
        // Row 1: logits (3, 0, 0, 0); target 0 has log p = 3 − log(e³ + 3) = −0.1392, + log 4 = 1.2471 → pays 2.7471.
        // Row 2: target 1 of the same logits has log p = −3.1392, + log 4 = −1.7529 → below −1.5: pays nothing.
        // Row 3 is ignored.
        using var logits = tensor(new float[] { 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 9, 9, 9, 9 }, [1, 4, 4]);
        using var targets = tensor(new long[] { 2, 0, 1, I }, [1, 4]);
        var loss = UldAssistantTrainer.BelowUniform(logits, targets, margin: 1.5).item<float>();
        Assert.Equal((1.5 + 2.7471 + 0) / 3, loss, 3);

        // Once every trained token is m nats below uniform the term is zero, and so is its gradient.
        using var low = tensor(new float[] { 0, -20, -20, -20 }, [1, 1, 4]).requires_grad_(true);
        using var target = tensor(new long[] { 1 }, [1, 1]);
        var zero = UldAssistantTrainer.BelowUniform(low, target, margin: 8);
        zero.backward();
        Assert.Equal(0, zero.item<float>());
        Assert.Equal(0, low.grad!.abs().sum().item<float>());
    }

    [Fact]
    public void An_alternatives_true_answer_tokens_carry_no_loss()
    {
        // Prompt 1 2 | answer 5 6 7 5: tokens 5 belong to the true answer, so only the predictions of 6 and 7 train.
        var example = new ChatExample([1, 2, 5, 6, 7, 5], AnswerStart: 2) { UntrainedTokens = new HashSet<int> { 5 } };
        using var batch = TrainingBatch.Create([example], padId: 0);
        Assert.Equal(new long[] { I, I, 6, 7, I, I }, batch.Targets.data<long>().ToArray());
        Assert.Equal(2, batch.AnswerTokens);

        using var plain = TrainingBatch.Create([example with { UntrainedTokens = null }], padId: 0);
        Assert.Equal(new long[] { I, 5, 6, 7, 5, I }, plain.Targets.data<long>().ToArray());
    }
}
