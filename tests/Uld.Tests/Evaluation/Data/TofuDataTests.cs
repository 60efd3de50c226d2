using Uld.Trainer.Tokenizer;
using Uld.Evaluation.Data;
using Uld.Contracts;
using Uld.Tokenization;
using Uld.Tests.Support;
using Uld.Trainer.Data;

namespace Uld.Tests.Evaluation.Data;

public sealed class TofuDataTests
{
    private static string TofuDirectory => SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"));
    private static TofuSplitDefinition Mini => TofuSplitDefinition.Load(Path.Combine(SharedPaths.RepositoryRoot, "data", "tofu-mini.json"));

    [Fact]
    public void Tofu_mini_splits_keep_truth_ratios_computable_on_both_sides()
    {
        var tofu = TofuDataset.Load(TofuDirectory);
        Assert.Equal(200, tofu.AuthorCount);
        Assert.Equal(40, Mini.Authors.Count);

        foreach (var (set, authors) in new[] { ("forget1", 1), ("forget2", 2), ("forget4", 4) })
        {
            var (forget, retain) = tofu.Split(Mini, set);
            Assert.Equal(20 * authors, forget.Count);
            Assert.Equal(20 * (40 - authors), retain.Count);
            Assert.Empty(forget.Select(r => r.Author).Intersect(retain.Select(r => r.Author)));
            Assert.All(forget, r => Assert.Equal(5, r.PerturbedAnswers.Count)); // from forget10_perturbed
            Assert.All(forget, r => Assert.False(string.IsNullOrEmpty(r.ParaphrasedAnswer)));
            // Authors 0–19 (retain_perturbed.json) and the retained ones among 180–199 (forget10_perturbed.json).
            Assert.Equal(400 + 20 * (20 - authors), retain.Count(r => r.PerturbedAnswers.Count > 0));
        }
        Assert.Contains("Jaime Vasquez", tofu.Authors([0])[0].Answer);
    }

    [Fact]
    public void Unknown_or_out_of_range_splits_are_refused()
    {
        var tofu = TofuDataset.Load(TofuDirectory);
        Assert.Throws<Uld.Contracts.UserErrorException>(() => tofu.Split(Mini, "forget9"));
        Assert.Throws<Uld.Contracts.UserErrorException>(() => tofu.Authors([200]));
        Assert.Throws<Uld.Contracts.Models.ModelFormatException>(() => TofuDataset.Load(Path.Combine(TofuDirectory, "missing")));
    }

    [Fact]
    public void Chat_examples_put_the_loss_on_the_answer_only()
    {
        using var temp = new TempDirectory();
        var texts = TofuDataset.Load(TofuDirectory).Authors([0, 1]).SelectMany(r => new[] { r.Question, r.Answer });
        File.WriteAllText(temp["tokenizer.json"], ByteLevelBpeTrainer.ToTokenizerJson(ByteLevelBpeTrainer.Train(texts, 400)).ToJsonString(Uld.Contracts.Json.Options));
        var tokenizer = ModelTokenizer.Load(temp.Path);

        var example = ChatExample.Create(tokenizer, ChatTemplate.QuestionAnswer, "Who wrote it?", "Jaime Vasquez did.");
        Assert.Equal(tokenizer.Ids.Bos, example.Tokens[0]);
        Assert.Equal(tokenizer.Ids.Eos, example.Tokens[^1]);
        Assert.Equal("Question: Who wrote it?\nAnswer:", tokenizer.Decode(example.Tokens[1..example.AnswerStart]));
        Assert.Equal(" Jaime Vasquez did.", tokenizer.Decode(example.Tokens[example.AnswerStart..^1]));
        // The prompt the server renders for the same question tokenizes to the same prefix.
        Assert.Equal(example.Tokens[..example.AnswerStart], tokenizer.Encode(ChatTemplate.QuestionAnswer.Render([("user", "Who wrote it?")]), addBos: true));
    }
}
