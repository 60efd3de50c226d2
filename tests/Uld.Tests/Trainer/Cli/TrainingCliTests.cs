using Uld.Contracts.Models;
using Uld.Cli;
using Uld.Tests.Support;
using Uld.Trainer.Cli;

namespace Uld.Tests.Trainer.Cli;

/// <summary>Bad arguments to the training commands: a clear message, exit code 2, nothing written.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class TrainingCliTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Tofu => SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"));
    private static string Split => Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json");

    [Fact]
    public void Tokenizer_train_rejects_a_missing_corpus_and_a_tiny_vocabulary()
    {
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run("tokenizer", "train", "--corpus", _temp["none.json"], "-o", _temp["tok"]));
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run("tokenizer", "train", "--corpus", Path.Combine(Tofu, "forget01.json"), "--vocab-size", "10", "-o", _temp["tok"]));
        Assert.False(File.Exists(_temp["tok/tokenizer.json"]));
    }

    [Theory]
    [InlineData("--role", "retain")] // retain needs --forget
    [InlineData("--role", "retain", "--forget", "forget9")] // no such forget set
    public void Train_rejects_inconsistent_splits(params string[] extra)
    {
        Assert.Equal(0, TrainerCli.Run("tokenizer", "train", "--corpus", Path.Combine(Tofu, "forget01.json"), "--vocab-size", "300", "-o", _temp["tok"]));
        string[] args = ["train", "--data", Tofu, "--split", Split, "--tokenizer", _temp["tok"], "-o", _temp["model"], .. extra];
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run(args));
        Assert.False(Directory.Exists(_temp["model"]));
    }
}

[Collection(TorchSharpCollection.Name)]
public sealed class UnlearnCliTests(Stories260KFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string[] Args(string method, string split, string forget) =>
        ["unlearn", "--method", method, "--base", fixture.Model.Root, "--data", SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu")),
         "--split", split, "--forget", forget, "-o", _temp["assistant"]];

    [Theory]
    [InlineData("gradient-magic")] // an unknown method
    [InlineData("npo+dpo")] // an unknown combination of known terms
    public void Unknown_methods_are_refused_clearly(string method)
    {
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run(Args(method, Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json"), "forget1")));
        Assert.False(Directory.Exists(_temp["assistant"]));
    }

    [Fact]
    public void Offset_methods_write_a_reference_and_an_unlearned_model_naming_role_and_base()
    {
        var split = Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json");
        var small = Stories260KModels.AssistantDirectory;
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run(Args("offset-ga+kl", split, "forget1"))); // no --small
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run([.. Args("npo+kl", split, "forget1"), "--small", small])); // --small without an offset method
        Assert.False(Directory.Exists(_temp["assistant"]));

        Assert.Equal(0, TrainerCli.Run([.. Args("offset-ga+kl", split, "forget1"), "--small", small, "--epochs", "1"]));
        var reference = ModelDirectory.Open(Path.Combine(_temp["assistant"], "reference"));
        var unlearned = ModelDirectory.Open(Path.Combine(_temp["assistant"], "unlearned"));
        Assert.Equal((ModelRoles.OffsetReference, ModelRoles.OffsetUnlearned), (reference.Manifest.Role, unlearned.Manifest.Role));
        Assert.All(new[] { reference, unlearned }, d =>
        {
            Assert.Equal(fixture.Model.Manifest.Name, d.Manifest.BaseModel);
            Assert.Equal("offset-ga+kl", d.Manifest.Method);
            Assert.Equal(ModelDirectory.Open(small).Manifest.Name, d.Manifest.Hyperparameters!["small_model"]!.GetValue<string>());
            Assert.Equal("delta", d.Manifest.Hyperparameters!["objective"]!.GetValue<string>()); // trained through the combined logits
        });
        Assert.NotEqual(reference.Manifest.Files[ModelDirectory.OnnxFile], unlearned.Manifest.Files[ModelDirectory.OnnxFile]);
        Assert.False(Directory.Exists(_temp["assistant"] + ".staging"));
    }

    [Fact]
    public void An_empty_forget_set_is_refused()
    {
        File.WriteAllText(_temp["split.json"], """{"name":"x","authors":[0,1],"forget":{"none":[]}}""");
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run(Args("uld", _temp["split.json"], "none")));
        Assert.False(Directory.Exists(_temp["assistant"]));
    }
}
