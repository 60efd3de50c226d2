using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Training;

/// <summary>
/// The chunked output head gives the losses and gradients the full logits give: the statistics themselves, every
/// vocabulary term the trainers build from them (cross-entropy, KL(U ‖ p), the below-uniform hinge, NPO's sequence
/// log-likelihoods) and the gradients of a LoRA assistant and of a fully trained model with a tied or untied head.
/// Chunks of 3 positions leave a partial last chunk and cross sequence boundaries.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class VocabularyHeadTests
{
    private const long ChunkRows = 3;

    [Fact]
    public void Chunked_statistics_and_their_gradients_equal_the_full_logits()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(11);
        var hidden = randn(2, 5, 8).requires_grad_(true);
        var weight = (randn(37, 8) * 2).requires_grad_(true);
        var targets = Targets();

        var (chunked, chunkedGradients) = LossAndGradients(VocabularyHead.Statistics(hidden, weight, targets, ChunkRows), targets, [hidden, weight]);
        var (full, fullGradients) = LossAndGradients(TokenStatistics.FromLogits(hidden.matmul(weight.t()), targets), targets, [hidden, weight]);

        Assert.Equal(full, chunked, 4);
        for (var i = 0; i < fullGradients.Length; i++) AssertClose(fullGradients[i], chunkedGradients[i], $"gradient {i}");
    }

    [Fact]
    public void Chunked_statistics_match_the_full_ones_position_by_position()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(12);
        using var noGrad = no_grad();
        var (hidden, weight, targets) = (randn(2, 5, 8), randn(37, 8) * 3, Targets());
        var chunked = VocabularyHead.Statistics(hidden, weight, targets, ChunkRows);
        var full = TokenStatistics.FromLogits(hidden.matmul(weight.t()), targets);
        AssertClose(full.TargetLogProbability, chunked.TargetLogProbability, "log p(target)");
        AssertClose(full.MeanLogProbability, chunked.MeanLogProbability, "mean log p");
        Assert.Equal(0f, chunked.TargetLogProbability[0, 0].item<float>()); // an ignored target contributes nothing
    }

    [Theory]
    [InlineData(true, true)] // a ULD assistant: LoRA only, head frozen (tied to the embedding)
    [InlineData(false, false)] // a gradient baseline: every weight, untied head
    [InlineData(true, false)] // every weight, the head's gradient reaching the embedding too
    public void A_model_gets_the_same_gradient_through_the_chunked_head(bool tied, bool lora)
    {
        TorchRuntime.EnsureInitialized();
        using var model = new LlamaForCausalLM(new LlamaConfig
        {
            VocabSize = 37, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 64, TieWordEmbeddings = tied,
        });
        CausalLmTrainer.Initialize(model, 13);
        if (lora)
        {
            foreach (var layer in model.modules().OfType<LlamaLinear>().Distinct().Where(l => l != model.LmHead)) layer.AddLora(4, 8, dropout: 0);
            using var noGrad = no_grad();
            // B starts at zero; random B makes the adapters' gradients depend on everything upstream.
            foreach (var (_, p) in model.named_parameters().Where(p => p.name.EndsWith("lora_B", StringComparison.Ordinal))) p.normal_(0, 0.1);
        }
        bool Trains(string name) => !lora || name.Contains(".lora_", StringComparison.Ordinal);
        foreach (var (name, p) in model.named_parameters()) p.requires_grad_(Trains(name));
        var trained = model.named_parameters().Where(p => Trains(p.name)).Select(p => p.parameter).ToArray<Tensor>();

        var ids = tensor(new long[] { 1, 5, 9, 30, 7, 2, 4, 6, 8, 0 }, [2, 5]);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, [2, 5]);
        var positions = tensor(new long[] { 0, 1, 2, 3, 4, 0, 1, 2, 0, 0 }, [2, 5]);
        var targets = Targets();

        var (chunked, chunkedGradients) = LossAndGradients(
            VocabularyHead.Statistics(model.Hidden(ids, mask, positions), model.OutputWeight, targets, ChunkRows), targets, trained, mask);
        var (full, fullGradients) = LossAndGradients(TokenStatistics.FromLogits(model.Forward(ids, mask, positions).Logits, targets), targets, trained, mask);

        Assert.Equal(full, chunked, 4);
        for (var i = 0; i < trained.Length; i++) AssertClose(fullGradients[i], chunkedGradients[i], $"parameter {i}");
    }

    [Fact]
    public void Curvature_from_hidden_states_is_the_logits_at_the_asked_positions()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(14);
        var (hidden, weight) = (randn(2, 5, 8), randn(37, 8));
        var rows = tensor(new long[] { 1, 4, 7 });
        var expected = hidden.matmul(weight.t()).view(-1, 37).index_select(0, rows);
        AssertClose(expected, OutputCurvature.FromHidden(hidden, weight, Targets()).LogitsAt(rows), "logits");
    }

    /// <summary>[2, 5] targets with ignored positions at both ends and in the middle, as a padded batch has.</summary>
    private static Tensor Targets() => tensor(new long[] { TrainingBatch.Ignore, 3, 36, 0, 17, TrainingBatch.Ignore, 5, 5, TrainingBatch.Ignore, TrainingBatch.Ignore }, [2, 5]);

    /// <summary>Every vocabulary term the trainers use, summed with unequal weights so that no term's gradient can hide another's.</summary>
    private static (float Loss, Tensor[] Gradients) LossAndGradients(TokenStatistics statistics, Tensor targets, Tensor[] parameters, Tensor? mask = null)
    {
        var attention = mask ?? ones_like(targets);
        var npo = nn.functional.logsigmoid(-0.1 * statistics.SequenceLogLikelihood()).mean();
        var loss = statistics.AnswerCrossEntropy(targets) + 2 * statistics.KlFromUniform(attention)
                   + 0.5 * statistics.BelowUniform(targets, margin: 8) - 3 * npo;
        foreach (var p in parameters) p.grad?.zero_();
        loss.backward();
        return (loss.item<float>(), parameters.Select(p => p.grad!.clone()).ToArray());
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        var scale = Math.Max(1e-3f, expected.abs().max().item<float>());
        var error = (expected - actual).abs().max().item<float>();
        Assert.True(error <= 1e-4f * scale, $"{what}: max |difference| {error} at scale {scale}");
    }
}
