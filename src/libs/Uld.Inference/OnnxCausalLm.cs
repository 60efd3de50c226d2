using Microsoft.ML.OnnxRuntime;

namespace Uld.Inference;

/// <summary>Logits of one step, [batch, seq, vocab] row-major, and the cache that continues it.</summary>
public sealed record DecoderStep(float[] Logits, int Batch, int Sequence, int Vocab, KvCache Present)
{
    public ReadOnlySpan<float> Row(int batchIndex, int position) =>
        Logits.AsSpan((batchIndex * Sequence + position) * Vocab, Vocab);
}

/// <summary>
/// An ONNX Runtime session over a decoder graph per docs/DESIGN.md, *Contract 2: ONNX I/O*. The graph's shape (layers, kv heads, head dim, vocab)
/// is read from its declared inputs and outputs, so any Optimum-layout Llama export works, not only ours.
/// </summary>
public sealed class OnnxCausalLm : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Vocab { get; }

    public OnnxCausalLm(string onnxPath, SessionOptions? options = null)
    {
        if (!File.Exists(onnxPath)) throw new FileNotFoundException($"ONNX model {onnxPath} does not exist.", onnxPath);
        _session = options is null ? new InferenceSession(onnxPath) : new InferenceSession(onnxPath, options);
        try
        {
            var inputs = _session.InputMetadata;
            foreach (var required in new[] { "input_ids", "attention_mask", "position_ids", "past_key_values.0.key" })
            {
                if (!inputs.ContainsKey(required))
                    throw new InvalidDataException($"{onnxPath} has no input \"{required}\"; it is not a decoder-with-past export (docs/DESIGN.md, Contract 2).");
            }
            Layers = inputs.Keys.Count(k => k.StartsWith("past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
            var kvShape = inputs["past_key_values.0.key"].Dimensions;
            (KvHeads, HeadDim) = (kvShape[1], kvShape[3]);
            if (!_session.OutputMetadata.TryGetValue("logits", out var logits))
                throw new InvalidDataException($"{onnxPath} has no output \"logits\".");
            Vocab = logits.Dimensions[2];
            if (KvHeads <= 0 || HeadDim <= 0 || Vocab <= 0)
                throw new InvalidDataException($"{onnxPath} must declare fixed kv_heads, head_dim and vocab sizes.");

            _inputNames = ["input_ids", "attention_mask", "position_ids",
                .. Enumerable.Range(0, Layers).SelectMany(i => new[] { $"past_key_values.{i}.key", $"past_key_values.{i}.value" })];
            _outputNames = ["logits", .. Enumerable.Range(0, Layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" })];
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public KvCache EmptyCache(int batch) => KvCache.Empty(Layers, batch, KvHeads, HeadDim);

    /// <summary>
    /// Runs one step. <paramref name="inputIds"/> and <paramref name="positionIds"/> are [batch, seq] row-major;
    /// <paramref name="attentionMask"/> is [batch, past.Length + seq]. The caller keeps ownership of
    /// <paramref name="past"/>; the returned step owns its new cache.
    /// </summary>
    public DecoderStep Run(long[] inputIds, long[] attentionMask, long[] positionIds, int batch, KvCache past, RunOptions? runOptions = null)
    {
        var seq = inputIds.Length / batch;
        if (inputIds.Length != batch * seq || positionIds.Length != inputIds.Length)
            throw new ArgumentException("input_ids and position_ids must both be [batch, seq].");
        if (attentionMask.Length != batch * (past.Length + seq))
            throw new ArgumentException($"attention_mask must be [batch, past + seq] = [{batch}, {past.Length + seq}].");
        if (past.Batch != batch) throw new ArgumentException($"cache batch {past.Batch} differs from batch {batch}.");

        using var ids = OrtValue.CreateTensorValueFromMemory(inputIds, [batch, seq]);
        using var mask = OrtValue.CreateTensorValueFromMemory(attentionMask, [batch, past.Length + seq]);
        using var positions = OrtValue.CreateTensorValueFromMemory(positionIds, [batch, seq]);
        var inputs = new OrtValue[_inputNames.Length];
        (inputs[0], inputs[1], inputs[2]) = (ids, mask, positions);
        for (var i = 0; i < Layers; i++)
        {
            inputs[3 + 2 * i] = past.Key(i);
            inputs[4 + 2 * i] = past.Value(i);
        }

        using var defaultOptions = runOptions is null ? new RunOptions() : null;
        var outputs = _session.Run(runOptions ?? defaultOptions!, _inputNames, inputs, _outputNames);
        try
        {
            var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            var keys = new OrtValue[Layers];
            var values = new OrtValue[Layers];
            for (var i = 0; i < Layers; i++)
            {
                keys[i] = outputs[1 + 2 * i];
                values[i] = outputs[2 + 2 * i];
            }
            outputs[0].Dispose();
            return new DecoderStep(logits, batch, seq, Vocab, new KvCache(keys, values, batch, past.Length + seq));
        }
        catch
        {
            outputs.Dispose();
            throw;
        }
    }

    public void Dispose() => _session.Dispose();
}
