using Uld.Trainer.Tokenizer;
using Uld.Evaluation.Data;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;

namespace Uld.Tests.Support;

/// <summary>
/// A few TOFU authors, a byte-level tokenizer trained on just their text, and tiny Llama configs: the setting in
/// which training and unlearning tests run in seconds.
/// </summary>
public sealed class MicroSplit : IDisposable
{
    private readonly TempDirectory _temp = new();

    public MicroSplit(int[] forgetAuthors, int[] retainAuthors, int vocabSize = 400)
    {
        TorchRuntime.EnsureInitialized();
        var tofu = TofuDataset.Load(SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu")));
        (ForgetRecords, RetainRecords) = (tofu.Authors(forgetAuthors), tofu.Authors(retainAuthors));
        File.WriteAllText(_temp["tokenizer.json"], ByteLevelBpeTrainer.ToTokenizerJson(ByteLevelBpeTrainer.Train(
            ForgetRecords.Concat(RetainRecords).SelectMany(r => new[] { r.Question, r.Answer }), vocabSize)).ToJsonString(Uld.Contracts.Json.Options));
        Tokenizer = ModelTokenizer.Load(_temp.Path);
    }

    public IReadOnlyList<TofuRecord> ForgetRecords { get; }
    public IReadOnlyList<TofuRecord> RetainRecords { get; }
    public ModelTokenizer Tokenizer { get; }
    public int Pad => Tokenizer.Ids.Pad!.Value;

    public List<ChatExample> Examples(IEnumerable<TofuRecord> records) =>
        records.Select(r => ChatExample.Create(Tokenizer, ChatTemplate.QuestionAnswer, r.Question, r.Answer)).ToList();

    public LlamaConfig TinyConfig(int hidden = 48, int layers = 2) => new()
    {
        VocabSize = Tokenizer.VocabSize, HiddenSize = hidden, IntermediateSize = 2 * hidden, NumHiddenLayers = layers,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256, TieWordEmbeddings = true,
    };

    /// <summary>A tiny model with fresh weights from <paramref name="seed"/>: where resume tests start.</summary>
    public LlamaForCausalLM Initialized(int seed)
    {
        var model = new LlamaForCausalLM(TinyConfig());
        Uld.Trainer.Training.CausalLmTrainer.Initialize(model, seed);
        return model;
    }

    public void Dispose() => _temp.Dispose();
}
