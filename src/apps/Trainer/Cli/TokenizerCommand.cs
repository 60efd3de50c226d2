using Uld.Trainer.Tokenizer;
using Uld.Cli;
using System.CommandLine;
using Spectre.Console;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Trainer.Data;

namespace Uld.Trainer.Cli;

/// <summary><c>tokenizer train</c>: a byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json) from JSON Lines text.</summary>
public static class TokenizerCommand
{
    public static Command Create()
    {
        var corpus = new Option<FileInfo[]>("--corpus") { Description = "JSON Lines files to learn from", Required = true, AllowMultipleArgumentsPerToken = true };
        var fields = new Option<string[]>("--fields") { Description = "record fields holding text", DefaultValueFactory = _ => ["question", "answer"], AllowMultipleArgumentsPerToken = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "vocabulary size, special tokens included (small models want small vocabularies)", DefaultValueFactory = _ => 1024 };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "directory to write tokenizer.json and tokenizer_config.json into", Required = true };
        var train = new Command("train", "Train a byte-level BPE tokenizer in Hugging Face tokenizer.json format (loads in Hugging Face tokenizers and transformers.js).") { corpus, fields, vocabSize, output };
        train.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var texts = TextCorpus.Read(parse.GetValue(corpus)!.Select(f => f.FullName), parse.GetValue(fields)!).ToList();
            if (texts.Count == 0) throw new UserErrorException("the corpus has no text in the given fields.");
            var result = CliProgress.Run("learning merges", task => ByteLevelBpeTrainer.Train(texts, parse.GetValue(vocabSize),
                progress: (done, total) => task.Report(done, total, "learning merges")));

            var dir = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(dir);
            AtomicFile.WriteAllText(Path.Combine(dir, ModelDirectory.TokenizerFile), ByteLevelBpeTrainer.ToTokenizerJson(result).ToJsonString(Json.Options));
            var config = new System.Text.Json.Nodes.JsonObject
            {
                ["tokenizer_class"] = "PreTrainedTokenizerFast",
                ["bos_token"] = "<s>",
                ["eos_token"] = "</s>",
                ["pad_token"] = "<pad>",
                ["add_bos_token"] = true,
            };
            ChatTemplate.QuestionAnswer.WriteTo(config);
            AtomicFile.WriteAllText(Path.Combine(dir, ModelDirectory.TokenizerConfigFile), config.ToJsonString(Json.Options));
            var tokenizer = ModelTokenizer.Load(dir);
            var tokens = texts.Sum(t => (long)tokenizer.Encode(t, addBos: false).Count);
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {dir}: {tokenizer.VocabSize} tokens, {texts.Count} texts → {tokens} tokens ({(double)tokens / texts.Sum(t => t.Length):F3} per character)");
            return 0;
        }));
        var command = new Command("tokenizer", "Tokenizer tools.");
        command.Subcommands.Add(train);
        return command;
    }
}
