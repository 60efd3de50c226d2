using Uld.Tests.Support;
using Uld.Trainer.Torch;
using static TorchSharp.torch;

namespace Uld.Tests.Foundation;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void TorchSharp_loads_and_trains_a_few_steps()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(42);
        using var scope = NewDisposeScope();
        var x = randn(256, 8);
        var trueWeights = tensor(new float[] { 1, -2, 3, -4, 5, -6, 7, -8 }).view(8, 1);
        var y = x.matmul(trueWeights);
        var layer = nn.Linear(8, 1);
        var optimizer = optim.AdamW(layer.parameters(), lr: 0.1);
        float Loss() => nn.functional.mse_loss(layer.forward(x), y).item<float>();

        var before = Loss();
        for (var step = 0; step < 50; step++)
        {
            optimizer.zero_grad();
            nn.functional.mse_loss(layer.forward(x), y).backward();
            optimizer.step();
        }
        var after = Loss();
        Assert.True(after < before / 4, $"loss went from {before} to {after}");
    }

    [Fact]
    public void Elf_patcher_marks_the_version_weak_once()
    {
        // The package's pristine copy: the build output's copy may already be patched.
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                       ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var pristine = SharedPaths.Require(Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        var bytes = File.ReadAllBytes(pristine);
        var copy = (byte[])bytes.Clone();

        Assert.True(ElfVersionPatcher.MarkVersionWeak(copy, "GLIBCXX_3.4.32"));
        Assert.False(ElfVersionPatcher.MarkVersionWeak(copy, "GLIBCXX_3.4.32"));
        Assert.Equal(bytes.Length, copy.Length);
        Assert.Equal(1, bytes.Zip(copy).Count(p => p.First != p.Second)); // only the flag byte changed
        Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak(copy, "GLIBCXX_99.0"));
        Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak("not an ELF file at all, just text"u8.ToArray(), "GLIBCXX_3.4.32"));
    }
}
