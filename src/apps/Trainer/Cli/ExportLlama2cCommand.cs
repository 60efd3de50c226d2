using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Trainer.Import;
using Uld.Trainer.Safetensors;

namespace Uld.Trainer.Cli;

/// <summary>
/// <c>export-llama2c</c>: a model directory as a llama2.c checkpoint and tokenizer.bin, so that llama2.c's run.c can
/// be measured on exactly the weights LogitServer serves (the serving benchmark's outside reference).
/// </summary>
public static class ExportLlama2cCommand
{
    public static Command Create()
    {
        var modelDir = new Option<DirectoryInfo>("--model-dir", "-m") { Description = "model directory to export", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "llama2.c checkpoint to write (v0 format)", Required = true };
        var tokenizer = new Option<FileInfo?>("--tokenizer-output") { Description = "also write the vocabulary as a llama2.c tokenizer.bin (SentencePiece-style vocabularies only)" };
        var command = new Command("export-llama2c", "Write a model as a llama2.c checkpoint (and tokenizer.bin) for llama2.c's run.c.") { modelDir, output, tokenizer };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var dir = ModelDirectory.Open(parse.GetValue(modelDir)!.FullName);
            var path = parse.GetValue(output)!.FullName;
            Llama2cCheckpoint.Write(path, dir.Config, SafetensorsFile.Open(dir.WeightsPath));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            if (parse.GetValue(tokenizer) is { } tokenizerFile)
            {
                var json = JsonNode.Parse(File.ReadAllText(dir.PathOf(ModelDirectory.TokenizerFile)))!.AsObject();
                if (!SentencePieceTokenizerJson.IsSentencePieceStyle(json))
                    throw new UserErrorException($"{dir.Root}: llama2.c's tokenizer.bin holds SentencePiece-style vocabularies (BPE with byte fallback) only; this tokenizer is not one.");
                var (pieces, ids) = SentencePieceTokenizerJson.ReadPieces(json, dir.PathOf(ModelDirectory.TokenizerFile));
                if (ids.Bos != 1 || ids.Eos != 2)
                    throw new UserErrorException($"{dir.Root}: run.c assumes BOS = 1 and EOS = 2; this vocabulary has BOS {ids.Bos}, EOS {ids.Eos}.");
                Llama2cTokenizer.Write(tokenizerFile.FullName, pieces);
                AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {tokenizerFile.FullName} ({pieces.Count} tokens)");
            }
            return 0;
        }));
        return command;
    }
}
