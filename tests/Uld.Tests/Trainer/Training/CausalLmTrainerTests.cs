using Uld.Tokenization;
using Uld.Tests.Support;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Training;

/// <summary>Training on a micro split (2 TOFU authors, a tiny model): it learns, and resuming is exact.</summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class CausalLmTrainerTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly MicroSplit _micro = new(forgetAuthors: [199], retainAuthors: [0]);
    private readonly ModelTokenizer _tokenizer;
    private readonly List<ChatExample> _examples;

    public CausalLmTrainerTests()
    {
        _tokenizer = _micro.Tokenizer;
        _examples = _micro.Examples(_micro.RetainRecords.Concat(_micro.ForgetRecords));
    }

    public void Dispose()
    {
        _micro.Dispose();
        _temp.Dispose();
    }

    private LlamaForCausalLM NewModel(int seed)
    {
        var model = new LlamaForCausalLM(_micro.TinyConfig(hidden: 32));
        CausalLmTrainer.Initialize(model, seed);
        return model;
    }

    private static readonly TrainingOptions Options = new() { Epochs = 4, BatchSize = 8, LearningRate = 1e-2, Seed = 7, CheckpointEvery = 0 };

    [Fact]
    public void Answer_loss_falls()
    {
        using var model = NewModel(7);
        var pad = _tokenizer.Ids.Pad!.Value;
        var before = CausalLmTrainer.AnswerLoss(model, _examples, pad);
        var steps = 0;
        CausalLmTrainer.Train(model, _examples, Options with { Epochs = 25 }, pad, null, false, _ => steps++);
        var after = CausalLmTrainer.AnswerLoss(model, _examples, pad);
        Assert.Equal(25 * 5, steps); // 40 examples / batch 8 = 5 steps per epoch
        Assert.InRange(before, Math.Log(_tokenizer.VocabSize) - 0.5, Math.Log(_tokenizer.VocabSize) + 0.5); // untrained ≈ uniform
        Assert.True(after < 0.7 * before, $"answer loss {before:F3} → {after:F3}");
    }

    [Fact]
    public void Resuming_from_a_checkpoint_is_bit_identical_to_an_uninterrupted_run()
    {
        using var uninterrupted = NewModel(7);
        CausalLmTrainer.Train(uninterrupted, _examples, Options, _tokenizer.Ids.Pad!.Value, null, false);

        var checkpoint = _temp["checkpoint"];
        using (var first = NewModel(7))
        {
            var stopped = CausalLmTrainer.Train(first, _examples, Options, _tokenizer.Ids.Pad!.Value, checkpoint, false, stopAfterSteps: 7);
            Assert.Equal(7, stopped.Steps);
        }
        using var resumed = NewModel(99); // different initial weights: everything must come from the checkpoint
        CausalLmTrainer.Train(resumed, _examples, Options, _tokenizer.Ids.Pad!.Value, checkpoint, resume: true);

        var expected = LlamaWeights.Export(uninterrupted).ToDictionary(t => t.Name, t => t.Data);
        foreach (var tensor in LlamaWeights.Export(resumed)) Assert.Equal(expected[tensor.Name], tensor.Data);
    }

    [Fact]
    public void The_schedule_warms_up_then_decays_and_batches_mask_the_prompt()
    {
        var o = new TrainingOptions { LearningRate = 1.0, WarmupFraction = 0.1 };
        Assert.Equal(0.1, o.LearningRateAt(0, 100), 6);
        Assert.Equal(1.0, o.LearningRateAt(9, 100), 6);
        Assert.Equal(0.1, o.LearningRateAt(100, 100), 6);
        var constant = o with { WarmupFraction = 0, FinalLearningRateFraction = 1 };
        Assert.All(new[] { 0, 50, 99 }, step => Assert.Equal(1.0, constant.LearningRateAt(step, 100), 6));
        Assert.Equal(CausalLmTrainer.Shuffle(40, 7, 3), CausalLmTrainer.Shuffle(40, 7, 3));
        Assert.NotEqual(CausalLmTrainer.Shuffle(40, 7, 3), CausalLmTrainer.Shuffle(40, 7, 4));

        using var batch = TrainingBatch.Create(_examples.Take(3).ToList(), _tokenizer.Ids.Pad!.Value);
        var targets = batch.Targets.data<long>().ToArray();
        var width = (int)batch.Targets.shape[1];
        var e = _examples[0];
        Assert.All(Enumerable.Range(0, e.AnswerStart - 1), t => Assert.Equal(TrainingBatch.Ignore, targets[t]));
        Assert.Equal(e.Tokens[e.AnswerStart], targets[e.AnswerStart - 1]);
        Assert.Equal(_tokenizer.Ids.Eos, (int)targets[e.Tokens.Length - 2]);
        Assert.Equal(_examples.Take(3).Sum(x => x.Tokens.Length - x.AnswerStart), batch.AnswerTokens);
        Assert.True(width >= e.Tokens.Length);
    }
}
