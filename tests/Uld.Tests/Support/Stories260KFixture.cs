using Uld.Contracts.Models;

namespace Uld.Tests.Support;

/// <summary>stories260K as a model directory, shared by the test classes of <see cref="TorchSharpCollection"/>.</summary>
public sealed class Stories260KFixture
{
    public const string ExpectedGreedyText = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    public ModelDirectory Model { get; } = ModelDirectory.Open(Stories260KModels.BaseDirectory);
}

/// <summary>
/// Test classes that use TorchSharp run one at a time, here: libtorch state is process-wide, and training tests on two
/// threads at once corrupted each other's scalars (a libtorch "toFloat" check failing mid-forward). The product runs
/// TorchSharp on one thread per process; the tests do the same. Classes that swap the process-wide console to read
/// CLI output belong here too. Every other collection runs in parallel with this one.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchSharpCollection : ICollectionFixture<Stories260KFixture>
{
    public const string Name = "torchsharp";
}
