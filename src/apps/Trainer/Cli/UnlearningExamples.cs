using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Unlearning;

namespace Uld.Trainer.Cli;

/// <summary>TOFU records rendered as the chat examples a gradient method trains on, the same way for every method.</summary>
public sealed class UnlearningExamples(ModelTokenizer tokenizer, ChatTemplate template)
{
    public List<ChatExample> Of(IEnumerable<TofuRecord> records) =>
        records.Select(r => ChatExample.Create(tokenizer, template, r.Question, r.Answer)).ToList();

    /// <summary>Each forget question gets a refusal drawn with the seed, the same one every epoch (for DPO's preferred answers).</summary>
    public ForgetData Forget(IReadOnlyList<TofuRecord> forgetRecords, IReadOnlyList<string> refusals, int seed)
    {
        var random = new Random(seed);
        return new ForgetData(Of(forgetRecords), refusals.Count == 0 ? null
            : forgetRecords.Select(r => ChatExample.Create(tokenizer, template, r.Question, refusals[random.Next(refusals.Count)])).ToList());
    }
}
