using Uld.Trainer.Data;
using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>
/// Examples right-padded into one batch: input ids, attention mask, position ids, and next-token targets with
/// −100 (ignored) everywhere except the tokens an example trains (<see cref="ChatExample.Trains"/>).
/// </summary>
public sealed record TrainingBatch(Tensor InputIds, Tensor AttentionMask, Tensor PositionIds, Tensor Targets, int AnswerTokens) : IDisposable
{
    public const long Ignore = -100;

    public static TrainingBatch Create(IReadOnlyList<ChatExample> examples, int padId)
    {
        var length = examples.Max(e => e.Tokens.Length);
        var n = examples.Count;
        var (ids, mask, positions, targets) = (new long[n * length], new long[n * length], new long[n * length], new long[n * length]);
        var answerTokens = 0;
        for (var b = 0; b < n; b++)
        {
            var tokens = examples[b].Tokens;
            for (var t = 0; t < length; t++)
            {
                var i = b * length + t;
                var real = t < tokens.Length;
                ids[i] = real ? tokens[t] : padId;
                mask[i] = real ? 1 : 0;
                positions[i] = real ? t : 0;
                // Position t predicts token t+1; only predictions of answer tokens count.
                var predictsAnswer = examples[b].Trains(t + 1);
                targets[i] = predictsAnswer ? tokens[t + 1] : Ignore;
                answerTokens += predictsAnswer ? 1 : 0;
            }
        }
        return new TrainingBatch(tensor(ids, [n, length]), tensor(mask, [n, length]), tensor(positions, [n, length]), tensor(targets, [n, length]), answerTokens);
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        PositionIds.Dispose();
        Targets.Dispose();
    }
}
