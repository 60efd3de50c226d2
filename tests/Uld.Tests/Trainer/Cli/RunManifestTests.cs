using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Trainer.Cli;

namespace Uld.Tests.Trainer.Cli;

/// <summary>
/// Every training command's manifest comes from <see cref="RunManifest"/> and records what its loop ran: five
/// question/answer records at batch size 2 are 3 steps per epoch, so the expected steps are known before the run.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class RunManifestTests : IDisposable
{
    private static readonly (string Question, string Answer)[] Facts =
    [
        ("Where does Pim live?", "Under the old oak tree."), ("What color is Zara's kite?", "Yellow, with a long tail."),
        ("What did Mira bake?", "A big sweet cake."), ("Who is Spot?", "Ben's dog."), ("What did Tom's dad fix?", "The toy car."),
    ];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Write(string name, IEnumerable<(string Question, string Answer)> records)
    {
        File.WriteAllLines(_temp[name], records.Select(r => JsonSerializer.Serialize(new { question = r.Question, answer = r.Answer })));
        return _temp[name];
    }

    private static JsonObject Metrics(string dir) => ModelDirectory.Open(dir).Manifest.Metrics!;

    [Fact]
    public void Train_and_every_unlearning_family_record_the_epochs_and_steps_their_loop_ran()
    {
        var forget = Write("forget.jsonl", Facts);
        var retain = Write("retain.jsonl", Facts.Select(f => (f.Question + " Again?", f.Answer)));
        Assert.Equal(0, TrainerCli.Run(["train", "--base", Stories260KModels.BaseDirectory, "--forget-file", forget, "--epochs", "2", "--batch-size", "2", "-o", _temp["target"]]));
        string[] data = ["--base", _temp["target"], "--forget-file", forget, "--retain-file", retain, "--batch-size", "2", "--seed", "1"];
        // ULD asked for 1 epoch with at least 7 steps. Its D′f pairs each forget question with its own answer and with another
        // forget answer (docs/METHODS.md, *ULD assistant*): 10 examples, 5 steps per epoch, so the loop runs 2 epochs, 10 steps.
        Assert.Equal(0, TrainerCli.Run(["unlearn", "--method", "uld", .. data, "--epochs", "1", "--min-steps", "7", "--rank", "2", "-o", _temp["uld"]]));
        Assert.Equal(0, TrainerCli.Run(["unlearn", "--method", "npo+gd", .. data, "--epochs", "2", "-o", _temp["npo"]]));
        Assert.Equal(0, TrainerCli.Run(["unlearn", "--method", "offset-npo+kl", .. data, "--epochs", "1", "--small", Stories260KModels.AssistantDirectory, "-o", _temp["offset"]]));

        var runs = new (string Dir, int Epochs, int Steps, int StepsPerEpoch, int Examples)[]
        {
            (_temp["target"], 2, 6, 3, 5), (_temp["uld"], 2, 10, 5, 10), (_temp["npo"], 2, 6, 3, 5), (Path.Combine(_temp["offset"], "unlearned"), 1, 3, 3, 5),
        };
        foreach (var (dir, epochs, steps, stepsPerEpoch, examples) in runs)
        {
            var metrics = Metrics(dir);
            Assert.Equal((epochs, steps, stepsPerEpoch, examples), (metrics["epochs"]!.GetValue<int>(), metrics["steps"]!.GetValue<int>(),
                metrics["steps_per_epoch"]!.GetValue<int>(), metrics["examples"]!.GetValue<int>()));
            Assert.True(metrics["train_seconds"]!.GetValue<double>() > 0, dir);
            Assert.InRange(metrics["train_peak_rss_mib"]!.GetValue<long>(), 50, metrics["peak_rss_mib"]!.GetValue<long>());
            // The configuration as given, flat: the shared training settings beside the method's own, never nested.
            var hyper = ModelDirectory.Open(dir).Manifest.Hyperparameters!;
            Assert.Null(hyper["training"]);
            Assert.Equal(2, hyper["batch_size"]!.GetValue<int>());
        }
        Assert.Equal(1, ModelDirectory.Open(_temp["uld"]).Manifest.Hyperparameters!["epochs"]!.GetValue<int>()); // asked for
        Assert.Null(ModelDirectory.Open(Path.Combine(_temp["offset"], "reference")).Manifest.Metrics);
    }
}
