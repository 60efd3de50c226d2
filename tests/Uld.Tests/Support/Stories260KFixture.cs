using Uld.Contracts.Models;
using Uld.Trainer.Import;
using Uld.Trainer.Torch;

namespace Uld.Tests.Support;

/// <summary>stories260K imported once per test run into a model directory that several test classes read.</summary>
public sealed class Stories260KFixture : IDisposable
{
    public const string ExpectedGreedyText = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    private readonly TempDirectory _temp = new();

    public ModelDirectory Model { get; }

    public Stories260KFixture()
    {
        TorchRuntime.EnsureInitialized();
        ModelImporter.ImportLlama2c(SharedPaths.Stories260KCheckpoint, SharedPaths.Stories260KTokenizer, _temp["stories260K"],
            "stories260K", new ModelPackage.Options());
        Model = ModelDirectory.Open(_temp["stories260K"]);
    }

    public void Dispose() => _temp.Dispose();
}

[CollectionDefinition(Name)]
public sealed class Stories260KCollection : ICollectionFixture<Stories260KFixture>
{
    public const string Name = "stories260K";
}
