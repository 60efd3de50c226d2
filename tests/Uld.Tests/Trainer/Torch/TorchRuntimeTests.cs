using System.Runtime.InteropServices;
using Uld.Tests.Support;
using Uld.Trainer.Torch;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Torch;

[Collection(TorchSharpCollection.Name)]
public sealed class TorchRuntimeTests
{
    private const string Version = "GLIBCXX_3.4.32";

    [Fact]
    public void TorchSharp_trains_a_linear_regression_after_EnsureInitialized()
    {
        // Deliberately no skip: if TorchSharp cannot load on this machine, this test must fail.
        TorchRuntime.EnsureInitialized();
        TorchRuntime.EnsureInitialized(); // idempotent

        manual_seed(1234);
        using var scope = NewDisposeScope();
        var x = randn(128, 4);
        var y = x.matmul(tensor(new[] { 0.5f, -1f, 1.5f, -2f }).view(4, 1)) + 0.3f;
        var model = nn.Linear(4, 1);
        var optimizer = optim.AdamW(model.parameters(), lr: 0.1);

        float Loss()
        {
            using var noGrad = no_grad();
            return nn.functional.mse_loss(model.forward(x), y).item<float>();
        }

        var before = Loss();
        for (var step = 0; step < 20; step++)
        {
            optimizer.zero_grad();
            nn.functional.mse_loss(model.forward(x), y).backward();
            optimizer.step();
        }
        var after = Loss();

        Assert.True(float.IsFinite(after), $"loss is {after}");
        Assert.True(after < before * 0.25f, $"20 AdamW steps should cut the loss by 4x or more; it went from {before} to {after}");

        // Exactly one libLibTorchSharp.so is mapped, and its GLIBCXX_3.4.32 need is met one of two ways on every machine:
        // this process's libstdc++ defines the symbol (GCC 13+; no fix, FixedDirectory null), or the loaded copy is the
        // one the fix patched (need marked weak, in FixedDirectory).
        var loaded = Assert.Single(File.ReadLines("/proc/self/maps")
            .Where(line => line.Contains("/libLibTorchSharp.so", StringComparison.Ordinal))
            .Select(line => line[line.IndexOf('/', StringComparison.Ordinal)..])
            .Distinct());
        var libStdCxxHasSymbol = NativeLibrary.TryLoad("libstdc++.so.6", out var libStdCxx)
                                 && NativeLibrary.TryGetExport(libStdCxx, "_ZSt21ios_base_library_initv", out _);
        Assert.Equal(!libStdCxxHasSymbol, TorchRuntime.FixedDirectory is not null);
        var need = ElfVersionPatcher.GetVersionNeedFlags(File.ReadAllBytes(loaded), Version) ?? 0;
        var patchedCopyLoaded = TorchRuntime.FixedDirectory is { } fixedDirectory
                                && loaded == Path.Combine(fixedDirectory, "libLibTorchSharp.so")
                                && (need & ElfVersionPatcher.VerFlgWeak) != 0;
        Assert.True(libStdCxxHasSymbol || patchedCopyLoaded,
            $"{loaded} needs {Version} (flags {need}) but libstdc++ lacks it and the fix (FixedDirectory {TorchRuntime.FixedDirectory ?? "null"}) did not patch the loaded copy.");
    }

    [Fact]
    public void ElfVersionPatcher_marks_the_version_weak_once_in_a_copy_of_the_real_library()
    {
        using var temp = new TempDirectory();
        var copy = System.IO.Path.Combine(temp.Path, "libLibTorchSharp.so");
        File.Copy(PristineLibrary(), copy);
        var original = File.ReadAllBytes(copy);
        var originalTime = File.GetLastWriteTimeUtc(copy);
        Assert.Equal((ushort)0, ElfVersionPatcher.GetVersionNeedFlags(original, Version));

        Assert.True(ElfVersionPatcher.MarkVersionWeak(copy, Version));

        var patched = File.ReadAllBytes(copy);
        Assert.Equal(ElfVersionPatcher.VerFlgWeak, ElfVersionPatcher.GetVersionNeedFlags(patched, Version));
        Assert.Equal(original.Length, patched.Length);
        Assert.Equal(1, original.Zip(patched).Count(p => p.First != p.Second)); // only the flag byte changed
        Assert.Equal(originalTime, File.GetLastWriteTimeUtc(copy)); // so MSBuild's copy-if-changed leaves it alone
        Assert.Equal(copy, Assert.Single(Directory.GetFiles(temp.Path))); // no temporary files left behind

        Assert.False(ElfVersionPatcher.MarkVersionWeak(copy, Version)); // idempotent
        Assert.Equal(patched, File.ReadAllBytes(copy));

        // Other requirements are untouched and a version the library does not need is an error, not a silent no-op.
        Assert.Equal((ushort)0, ElfVersionPatcher.GetVersionNeedFlags(patched, "GLIBCXX_3.4.18"));
        Assert.Null(ElfVersionPatcher.GetVersionNeedFlags(patched, "GLIBCXX_99.0"));
        var missing = Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak(copy, "GLIBCXX_99.0"));
        Assert.Contains("GLIBCXX_99.0", missing.Message);
    }

    [Fact]
    public void ElfVersionPatcher_rejects_non_ELF_and_truncated_files_clearly()
    {
        using var temp = new TempDirectory();
        var text = System.IO.Path.Combine(temp.Path, "notes.so");
        File.WriteAllText(text, "not an ELF file at all, just some text that is long enough to hold an ELF header.........");
        var notElf = Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak(text, Version));
        Assert.Contains("not an ELF file", notElf.Message);
        Assert.Contains(text, notElf.Message);

        var truncated = System.IO.Path.Combine(temp.Path, "truncated.so");
        File.WriteAllBytes(truncated, File.ReadAllBytes(PristineLibrary())[..4096]); // header intact, section table cut off
        var cut = Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak(truncated, Version));
        Assert.Contains("outside the file", cut.Message);

        Assert.Throws<FileNotFoundException>(() => ElfVersionPatcher.MarkVersionWeak(System.IO.Path.Combine(temp.Path, "absent.so"), Version));
    }

    [Fact]
    public void ElfVersionPatcher_is_safe_when_many_patch_the_same_file_at_once()
    {
        using var temp = new TempDirectory();
        var copy = System.IO.Path.Combine(temp.Path, "libLibTorchSharp.so");
        File.Copy(PristineLibrary(), copy);

        Parallel.For(0, 8, _ => ElfVersionPatcher.MarkVersionWeak(copy, Version));

        Assert.Equal(ElfVersionPatcher.VerFlgWeak, ElfVersionPatcher.GetVersionNeedFlags(File.ReadAllBytes(copy), Version));
        Assert.Single(Directory.GetFiles(temp.Path));
    }

    /// <summary>The package's own copy (the build output's may already be patched); read, never written.</summary>
    private static string PristineLibrary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp 0.107.0's native library is not in the NuGet cache at {path}; run `dotnet restore`.");
        return path;
    }
}
