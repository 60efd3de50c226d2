using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>Moves weights between a <see cref="LlamaForCausalLM"/> and safetensors tensors with Hugging Face names.</summary>
public static class LlamaWeights
{
    /// <summary>
    /// Copies every parameter from <paramref name="tensors"/>, checking names and shapes. Tensors Hugging Face
    /// checkpoints carry but the model derives (rotary inv_freq, a tied lm_head) are ignored; anything else
    /// unexpected is an error, because it means the checkpoint is not the architecture config.json claims.
    /// </summary>
    public static void Load(LlamaForCausalLM model, IReadOnlyDictionary<string, SafeTensor> tensors, string source)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var missing = parameters.Keys.Where(name => !tensors.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new ModelFormatException($"{source} is missing {missing.Count} weight(s), e.g. {string.Join(", ", missing.Take(3))}.");
        var unexpected = tensors.Keys
            .Where(name => !parameters.ContainsKey(name) && !name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
                           && !(name == "lm_head.weight" && model.Config.TieWordEmbeddings))
            .ToList();
        if (unexpected.Count > 0)
            throw new ModelFormatException($"{source} has {unexpected.Count} weight(s) a Llama with this config.json does not, e.g. {string.Join(", ", unexpected.Take(3))}.");

        using var noGrad = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            var shape = tensors.ShapeOf(name);
            if (!shape.SequenceEqual(parameter.shape))
                throw new ModelFormatException($"{source}: {name} has shape [{string.Join(", ", shape)}] but config.json implies [{string.Join(", ", parameter.shape)}].");
            if (tensors is ITensorReader reader && ReadInto(parameter, name, reader)) continue;
            var t = tensors[name];
            // Straight into the parameter's storage: no intermediate tensor, so a large embedding is not held three times.
            parameter.bytes = t.Dtype == "F32" ? t.Data : System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.ToFloats().AsSpan());
            TransientBuffers.Released(t.Data.Length);
        }
    }

    /// <summary>An F32 tensor read from the file straight into the parameter's storage, block by block; false if not F32.</summary>
    private static bool ReadInto(Tensor parameter, string name, ITensorReader reader)
    {
        foreach (var (rows, offset) in TensorRowBlocks.Of(parameter))
        {
            using (rows)
            {
                if (!reader.ReadFloat32(name, offset, rows.bytes)) return false;
            }
        }
        return true;
    }

    public static IEnumerable<SafeTensor> Export(LlamaForCausalLM model)
    {
        foreach (var (name, parameter) in model.named_parameters())
        {
            using var cpu = parameter.detach().cpu().contiguous().to(ScalarType.Float32);
            yield return SafeTensor.FromFloats(name, cpu.shape, cpu.data<float>().ToArray());
        }
    }

    public static LlamaForCausalLM LoadDirectory(ModelDirectory directory)
    {
        var model = new LlamaForCausalLM(directory.Config);
        Load(model, SafetensorsFile.Open(directory.WeightsPath), directory.WeightsPath);
        model.eval();
        return model;
    }
}
