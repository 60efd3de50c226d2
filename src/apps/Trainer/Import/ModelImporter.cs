using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using Uld.Tokenization;
using Uld.Trainer.Model;

namespace Uld.Trainer.Import;

/// <summary>Turns foreign checkpoints (llama2.c, Hugging Face Llama) into model directories.</summary>
public static class ModelImporter
{
    public static ModelManifest ImportLlama2c(string checkpoint, string tokenizerPath, string output, string? name,
        ModelPackage.Options options, Action<string>? progress = null)
    {
        progress?.Invoke("reading the llama2.c checkpoint");
        var (config, tensors) = Llama2cCheckpoint.Read(checkpoint);
        var pieces = Llama2cTokenizer.Read(tokenizerPath, config.VocabSize);
        using var model = new LlamaForCausalLM(config);
        LlamaWeights.Load(model, tensors, checkpoint);
        model.eval();

        var tokenizer = TokenizerFiles.FromSentencePiece(pieces, Llama2cTokenizer.Ids, config.MaxPositionEmbeddings);
        var generation = new GenerationConfig { BosTokenId = 1, EosTokenId = 2, MaxLength = config.MaxPositionEmbeddings };
        var manifest = new ModelManifest
        {
            Name = name ?? Path.GetFileName(Path.GetFullPath(output)),
            Role = ModelRoles.Imported,
            Method = "import-llama2c",
            Source = new JsonObject
            {
                ["format"] = "llama2.c-v0",
                ["files"] = SourceFiles(checkpoint, tokenizerPath),
            },
        };
        return ModelPackage.Write(output, model, tokenizer, generation, manifest, options with { ReleaseModelAfterWrite = true }, progress);
    }

    public static ModelManifest ImportHuggingFace(string directory, string output, string? name, ModelPackage.Options options,
        Action<string>? progress = null)
    {
        if (!Directory.Exists(directory)) throw new ModelFormatException($"{directory} does not exist.");
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new ModelFormatException($"{directory} has no config.json; it is not a Hugging Face model directory.");
        var config = LlamaConfig.Load(configPath) with { TorchDtype = "float32" };

        progress?.Invoke("reading safetensors weights");
        var tensors = SafetensorsFile.ReadCheckpoint(directory);
        using var model = new LlamaForCausalLM(config);
        LlamaWeights.Load(model, tensors, directory);
        model.eval();

        var (tokenizer, ids) = ReadHuggingFaceTokenizer(directory, config.MaxPositionEmbeddings);
        var generationPath = Path.Combine(directory, ModelDirectory.GenerationConfigFile);
        var generation = new GenerationConfig
        {
            BosTokenId = config.BosTokenId ?? ids.Bos,
            EosTokenId = ids.Eos,
            MaxLength = config.MaxPositionEmbeddings,
        };
        if (File.Exists(generationPath))
        {
            var hf = JsonNode.Parse(File.ReadAllText(generationPath));
            generation = generation with
            {
                BosTokenId = hf?["bos_token_id"]?.GetValueKind() == JsonValueKind.Number ? hf["bos_token_id"]!.GetValue<int>() : generation.BosTokenId,
                EosTokenId = FirstId(hf?["eos_token_id"]) ?? generation.EosTokenId,
                PadTokenId = FirstId(hf?["pad_token_id"]),
            };
        }

        var manifest = new ModelManifest
        {
            Name = name ?? Path.GetFileName(Path.GetFullPath(output)),
            Role = ModelRoles.Imported,
            Method = "import-huggingface",
            Source = new JsonObject
            {
                ["format"] = "huggingface-safetensors",
                ["files"] = SourceFiles(Directory.EnumerateFiles(directory).Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)).Order().ToArray()),
            },
        };
        return ModelPackage.Write(output, model, tokenizer, generation, manifest, options with { ReleaseModelAfterWrite = true }, progress);
    }

    /// <summary>tokenizer.json is taken as is (SentencePiece-style or byte-level BPE); otherwise tokenizer.model is converted.</summary>
    private static (TokenizerFiles Files, SpecialTokenIds Ids) ReadHuggingFaceTokenizer(string directory, int maxLength)
    {
        var jsonPath = Path.Combine(directory, ModelDirectory.TokenizerFile);
        var modelPath = Path.Combine(directory, ModelDirectory.SentencePieceFile);
        var configPath = Path.Combine(directory, ModelDirectory.TokenizerConfigFile);
        var hfConfig = File.Exists(configPath) ? JsonNode.Parse(File.ReadAllText(configPath))?.AsObject() : null;
        var chatTemplate = hfConfig?["chat_template"]?.GetValueKind() == JsonValueKind.String ? hfConfig["chat_template"]!.GetValue<string>() : null;

        if (File.Exists(jsonPath))
        {
            var json = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
            if (!SentencePieceTokenizerJson.IsSentencePieceStyle(json))
            {
                // Byte-level BPE (Llama 3, Qwen): both files are kept unchanged; loading them first rejects what the
                // tokenizer cannot reproduce (e.g. a WordPiece model) with its one-line reason.
                return (new TokenizerFiles(json, hfConfig ?? []), ModelTokenizer.Load(directory).Ids);
            }
            var (pieces, ids) = SentencePieceTokenizerJson.ReadPieces(json, jsonPath);
            var files = TokenizerFiles.FromSentencePiece(pieces, ids, maxLength, chatTemplate);
            return (files with { TokenizerJson = json }, ids);
        }
        if (File.Exists(modelPath))
        {
            var (pieces, ids) = SentencePieceModelReader.Read(modelPath);
            return (TokenizerFiles.FromSentencePiece(pieces, ids, maxLength, chatTemplate), ids);
        }
        throw new ModelFormatException($"{directory} has neither tokenizer.json nor tokenizer.model.");
    }

    private static int? FirstId(JsonNode? node) => node switch
    {
        JsonArray array when array.Count > 0 => array[0]!.GetValue<int>(),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => value.GetValue<int>(),
        _ => null,
    };

    private static JsonArray SourceFiles(params string[] paths) =>
        new(paths.Select(p => (JsonNode)JsonSerializer.SerializeToNode(new DataFile(Path.GetFileName(p), FileHash.Sha256(p)), Json.Options)!).ToArray());
}
