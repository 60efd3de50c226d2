using Uld.Contracts.Models;
using Uld.Trainer.Model;
using Uld.Trainer.Safetensors;
using static TorchSharp.torch;

namespace Uld.Tests.Support;

/// <summary>
/// A one-layer Llama, written as a Hugging Face directory, whose greedy continuation of <c>start</c> is exactly
/// <c>chain</c>: the layers add nothing (o_proj and down_proj are zero), each chain token's embedding is its own unit
/// vector, and lm_head maps that vector onto the next token. Lets a server test know which tokens a real-size
/// vocabulary will generate, e.g. the pieces of characters split over several byte-level tokens.
/// </summary>
public static class ChainLlama
{
    private const float Margin = 10;

    public static void Write(string directory, int vocabSize, int start, IReadOnlyList<int> chain)
    {
        var sequence = new[] { start }.Concat(chain).ToArray();
        var hidden = 64;
        if (sequence.Distinct().Count() != sequence.Length || sequence.Length > hidden)
            throw new ArgumentException($"a chain needs at most {hidden - 1} distinct tokens, none equal to the start token.", nameof(chain));
        var config = new LlamaConfig
        {
            VocabSize = vocabSize, HiddenSize = hidden, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 512,
        };
        Directory.CreateDirectory(directory);
        config.Save(Path.Combine(directory, ModelDirectory.ConfigFile));

        var embedding = new float[(long)vocabSize * hidden];
        var head = new float[(long)vocabSize * hidden];
        for (var i = 0; i < sequence.Length; i++)
        {
            embedding[(long)sequence[i] * hidden + i] = 1;
            if (i + 1 < sequence.Length) head[(long)sequence[i + 1] * hidden + i] = Margin;
        }
        using var model = new LlamaForCausalLM(config);
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (name == "model.embed_tokens.weight") parameter.copy_(tensor(embedding).reshape(vocabSize, hidden));
                else if (name == "lm_head.weight") parameter.copy_(tensor(head).reshape(vocabSize, hidden));
                else if (name.EndsWith("norm.weight", StringComparison.Ordinal)) parameter.fill_(1);
                else if (name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("down_proj.weight", StringComparison.Ordinal)) parameter.zero_();
            }
        }
        SafetensorsFile.Write(Path.Combine(directory, ModelDirectory.WeightsFile), LlamaWeights.Export(model).ToList());
    }
}
