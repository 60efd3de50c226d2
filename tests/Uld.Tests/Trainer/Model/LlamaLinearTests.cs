using Uld.Tests.Support;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Model;

[Collection(TorchSharpCollection.Name)]
public sealed class LlamaLinearTests
{
    [Fact]
    public void Lora_alone_can_fit_a_target_and_merges_exactly()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(1);
        using var layer = new LlamaLinear(8, 8);
        layer.AddLora(4, 8, 0);
        layer.Weight.requires_grad_(false);
        var x = randn(64, 8);
        var y = x.matmul(randn(8, 8));
        var trainable = layer.named_parameters().Where(p => p.name.StartsWith("lora_")).Select(p => p.parameter).ToList();
        Assert.Equal(2, trainable.Count);
        var optimizer = optim.AdamW(trainable, lr: 0.05);
        float Loss() => nn.functional.mse_loss(layer.forward(x), y).item<float>();
        var before = Loss();
        for (var i = 0; i < 200; i++)
        {
            optimizer.zero_grad();
            nn.functional.mse_loss(layer.forward(x), y).backward();
            optimizer.step();
        }
        Assert.True(Loss() < before / 2, $"{before} → {Loss()}");
        using var noGrad = no_grad();
        var merged = x.matmul(layer.MergedWeight().t());
        Assert.True((merged - layer.forward(x)).abs().max().item<float>() < 1e-4);
    }
}
