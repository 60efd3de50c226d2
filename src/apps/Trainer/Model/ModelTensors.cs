using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Uld.Trainer.Safetensors;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// A model's parameters seen as Hugging Face-named float32 tensors, copied out of TorchSharp only when asked for and
/// never cached: writing safetensors and ONNX from this view holds one tensor at a time besides the model itself,
/// which is what lets a 1B-parameter model be written on a machine with little more memory than its weights.
/// </summary>
public sealed class ModelTensors(LlamaForCausalLM model) : IReadOnlyDictionary<string, SafeTensor>, ITensorShapes, ITensorWriter
{
    private readonly Dictionary<string, TorchSharp.Modules.Parameter> _parameters =
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);

    public IReadOnlyList<SafeTensorLayout> Layout =>
        _parameters.Select(p => new SafeTensorLayout(p.Key, "F32", p.Value.shape)).ToList();

    public SafeTensor this[string key] => Copy(key);
    public long[] ShapeOf(string name) => _parameters[name].shape;
    public IEnumerable<string> Keys => _parameters.Keys;
    public IEnumerable<SafeTensor> Values => _parameters.Keys.Select(Copy);
    public int Count => _parameters.Count;
    public bool ContainsKey(string key) => _parameters.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out SafeTensor value)
    {
        value = _parameters.ContainsKey(key) ? Copy(key) : null;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, SafeTensor>> GetEnumerator() =>
        _parameters.Keys.Select(k => KeyValuePair.Create(k, Copy(k))).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void WriteFloat32(string name, Stream destination)
    {
        using var cpu = _parameters[name].detach().cpu().contiguous().to(ScalarType.Float32);
        foreach (var (rows, _) in TensorRowBlocks.Of(cpu))
        {
            using (rows) destination.Write(rows.bytes);
        }
    }

    /// <summary>A tensor copied out as a managed F32 <see cref="SafeTensor"/>, through the same path the writers stream.</summary>
    private SafeTensor Copy(string name)
    {
        var shape = _parameters[name].shape;
        var bytes = new byte[shape.Aggregate(1L, (a, b) => a * b) * sizeof(float)];
        WriteFloat32(name, new MemoryStream(bytes, writable: true));
        return new SafeTensor(name, "F32", shape, bytes);
    }
}
