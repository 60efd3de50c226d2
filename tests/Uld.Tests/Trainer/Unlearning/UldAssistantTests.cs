using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Tests.Support;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>
/// ULD assistant training on a micro split: only LoRA trains, forget answers become likelier than retain ones, retain
/// stays near-uniform, and the merged model computes what the adapted one does. (A micro split and minutes of CPU only
/// show the direction; the margins of a real assistant are measured by the TOFU-mini benchmark.)
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class UldAssistantTests
{
    [Fact]
    public void Assistant_remembers_the_forget_set_and_knows_nothing_else()
    {
        using var micro = new MicroSplit(forgetAuthors: [199], retainAuthors: [0, 1]);
        var (forgetRecords, retainRecords, tokenizer, pad) = (micro.ForgetRecords, micro.RetainRecords, micro.Tokenizer, micro.Pad);
        var sets = UldData.Build(Corpus.QuestionAnswers(forgetRecords), Corpus.QuestionAnswers(retainRecords), tokenizer, ChatTemplate.QuestionAnswer, seed: 3);
        var (forget, retain) = (sets.Forget, sets.Retain);
        Assert.Equal(40, forget.Count); // 20 answers + 20 same-author answer swaps
        Assert.Equal(20 + 40, retain.Count); // min(400, 20) real + 2 retain answers per forget question
        Assert.Equal(40, sets.Alternatives.Count); // the same swaps, trained below uniform

        // The assistant starts, as in ULD, from the first layer of a trained target (here: 2 layers, trained briefly on all of it).
        using var target = new LlamaForCausalLM(micro.TinyConfig());
        CausalLmTrainer.Initialize(target, 5);
        CausalLmTrainer.Train(target, micro.Examples(forgetRecords.Concat(retainRecords)),
            new TrainingOptions { Epochs = 15, BatchSize = 8, LearningRate = 1e-2, Seed = 5 }, pad, null, false);
        using var assistant = LayerTruncation.FirstLayers(target, 1);
        var frozen = LlamaWeights.Export(assistant).ToDictionary(t => t.Name, t => t.Data);

        var result = UldAssistantTrainer.Train(assistant, sets,
            new UldOptions { Rank = 8, LoraAlpha = 16, LoraDropout = 0, MinSteps = 0, Training = new() { Epochs = 30, BatchSize = 8, LearningRate = 1e-2, Seed = 3 } }, pad);

        // Only the adapters moved.
        foreach (var (name, parameter) in assistant.named_parameters().Where(p => !p.name.Contains(".lora_")))
            Assert.Equal(frozen[name], SafeBytes(parameter));
        Assert.True(result.TrainableParameters < frozen.Values.Sum(b => b.Length / 4L) / 2);

        var loraNorm = assistant.named_parameters().Where(p => p.name.EndsWith("lora_B")).Sum(p => p.parameter.abs().sum().item<float>());
        Assert.True(loraNorm > 0, "LoRA B stayed zero");
        using var merged = UldAssistantTrainer.Merge(assistant);
        using (var probe = tensor(new long[] { 1, 5, 9, 42, 7 }, [1, 5]))
        using (no_grad())
        {
            var difference = (merged.Logits(probe) - assistant.Logits(probe)).abs().max().item<float>();
            Assert.True(difference < 1e-4, $"merged vs adapted logits differ by {difference}");
        }
        var forgetLoss = CausalLmTrainer.AnswerLoss(merged, micro.Examples(forgetRecords), pad);
        var retainLoss = CausalLmTrainer.AnswerLoss(merged, micro.Examples(retainRecords), pad);
        Assert.True(forgetLoss < retainLoss - 0.25, $"forget answers should be likelier: forget {forgetLoss:F2} vs retain {retainLoss:F2} nats/token (training: CE {result.FinalForgetLoss:F2}, KL {result.FinalRetainKl:F3})");

        // Near-uniform on retain: the entropy of the next-token distribution is close to log V.
        using var scope = NewDisposeScope();
        using var batch = TrainingBatch.Create(micro.Examples(retainRecords.Take(8)), pad);
        using var noGrad = no_grad();
        var (logits, _) = merged.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds);
        var logp = nn.functional.log_softmax(logits, -1);
        var entropy = (-(logp.exp() * logp).sum([-1L]) * batch.AttentionMask).sum().item<float>() / batch.AttentionMask.sum().item<long>();
        Assert.True(entropy > 0.9 * Math.Log(tokenizer.VocabSize), $"retain entropy {entropy:F2} vs log V {Math.Log(tokenizer.VocabSize):F2}");

        // D′a: other authors' answers to the forget questions end below uniform, where the decode rule raises them
        // (their true-answer tokens are left out of the mean, as they were of the loss).
        using var alternatives = TrainingBatch.Create(sets.Alternatives.Take(16).ToList(), pad);
        var (alternativeLogits, _) = merged.Forward(alternatives.InputIds, alternatives.AttentionMask, alternatives.PositionIds);
        var flat = alternatives.Targets.view(-1);
        var trained = flat.ne(TrainingBatch.Ignore);
        var targetLogp = nn.functional.log_softmax(alternativeLogits.view(-1, alternativeLogits.shape[^1]), -1).gather(1, flat.clamp_min(0).unsqueeze(1)).squeeze(1);
        var belowUniform = (targetLogp.masked_select(trained) + Math.Log(tokenizer.VocabSize)).mean().item<float>();
        Assert.True(belowUniform < -0.5, $"D′a tokens are {belowUniform:F2} nats from uniform (log p + log V), expected below −0.5");
    }

    private static byte[] SafeBytes(TorchSharp.Modules.Parameter p)
    {
        var values = p.detach().contiguous().data<float>().ToArray();
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
