using Microsoft.ML.OnnxRuntime;

namespace Uld.Inference;

/// <summary>
/// An ONNX Runtime session over a decoder graph per docs/DESIGN.md, *Contract 2: ONNX I/O*. The graph's shape (layers, kv heads, head dim, vocab)
/// is read from its declared inputs and outputs, so any Optimum-layout Llama export works, not only ours.
/// A fused ULD graph (input <c>uld_alpha</c>, outputs <c>logits</c> + <c>uld_logits</c>, and an
/// <c>assistant.</c>-prefixed cache after the base's) is one session too: its cache holds the base's layers, then
/// the assistant's, so batching code treats it like any other cache.
/// </summary>
public sealed class OnnxCausalLm : IDisposable
{
    public const string AlphaInput = "uld_alpha";
    /// <summary>An overridable int64 initializer of our exports: 1 asks for each row's last logits only (prefill).</summary>
    public const string LogitsLastOnlyInput = "logits_last_only";
    public const string UldLogitsOutput = "uld_logits";
    public const string AssistantPrefix = "assistant.";
    /// <summary>Metadata of a fused graph: sha256 of the base and assistant ONNX files it was built from.</summary>
    public const string FusedBaseHashKey = "uld.base_onnx_sha256";
    public const string FusedAssistantHashKey = "uld.assistant_onnx_sha256";

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    /// <summary>Reused by every step: a decode step is short enough for a native allocation per run to show.</summary>
    private readonly RunOptions _defaultRunOptions = new();
    /// <summary>The graph can compute the last position's logits alone (<see cref="LogitsLastOnlyInput"/>); null if not.</summary>
    private readonly OrtValue? _lastOnly;

    /// <summary>Cache layers: the base's, plus the assistant's for a fused ULD graph.</summary>
    public int Layers { get; }
    /// <summary>Of <see cref="Layers"/>, how many belong to a fused graph's assistant (0 otherwise).</summary>
    public int AssistantLayers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Vocab { get; }
    /// <summary>The graph computes l_base − α·l_assistant itself (one session run per ULD step).</summary>
    public bool IsFusedUld => AssistantLayers > 0;
    /// <summary>The graph's metadata (custom_metadata_map), e.g. what a fused graph was built from.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <param name="prepacked">Where sessions that share initializers (<see cref="Weights.SharedWeights"/>) keep their one packed copy.</param>
    public OnnxCausalLm(string onnxPath, SessionOptions? options = null, PrePackedWeightsContainer? prepacked = null)
    {
        if (!File.Exists(onnxPath)) throw new FileNotFoundException($"ONNX model {onnxPath} does not exist.", onnxPath);
        using var quiet = options is null ? Quiet(new SessionOptions()) : null;
        _session = prepacked is null ? new InferenceSession(onnxPath, options ?? quiet!) : new InferenceSession(onnxPath, options ?? quiet!, prepacked);
        try
        {
            var inputs = _session.InputMetadata;
            foreach (var required in new[] { "input_ids", "attention_mask", "position_ids", "past_key_values.0.key" })
            {
                if (!inputs.ContainsKey(required))
                    throw new InvalidDataException($"{onnxPath} has no input \"{required}\"; it is not a decoder-with-past export (docs/DESIGN.md, Contract 2).");
            }
            static int CountLayers(IEnumerable<string> names, string prefix) =>
                names.Count(k => k.StartsWith(prefix + "past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
            var baseLayers = CountLayers(inputs.Keys, "");
            var fused = inputs.ContainsKey(AlphaInput);
            AssistantLayers = fused ? CountLayers(inputs.Keys, AssistantPrefix) : 0;
            if (fused && (AssistantLayers == 0 || !_session.OutputMetadata.ContainsKey(UldLogitsOutput)))
                throw new InvalidDataException($"{onnxPath} takes \"{AlphaInput}\" but lacks the assistant cache or the \"{UldLogitsOutput}\" output of a fused ULD graph.");
            Layers = baseLayers + AssistantLayers;
            var kvShape = inputs["past_key_values.0.key"].Dimensions;
            (KvHeads, HeadDim) = (kvShape[1], kvShape[3]);
            if (!_session.OutputMetadata.TryGetValue("logits", out var logits))
                throw new InvalidDataException($"{onnxPath} has no output \"logits\".");
            Vocab = logits.Dimensions[2];
            if (KvHeads <= 0 || HeadDim <= 0 || Vocab <= 0)
                throw new InvalidDataException($"{onnxPath} must declare fixed kv_heads, head_dim and vocab sizes.");
            Metadata = _session.ModelMetadata.CustomMetadataMap;
            if (_session.OverridableInitializerMetadata.ContainsKey(LogitsLastOnlyInput))
                _lastOnly = OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, []);

            var cacheNames = Enumerable.Range(0, baseLayers).Select(i => ("", i))
                .Concat(Enumerable.Range(0, AssistantLayers).Select(i => (AssistantPrefix, i))).ToList();
            _inputNames = ["input_ids", "attention_mask", "position_ids", .. fused ? new[] { AlphaInput } : [],
                .. cacheNames.SelectMany(c => new[] { $"{c.Item1}past_key_values.{c.Item2}.key", $"{c.Item1}past_key_values.{c.Item2}.value" })];
            _outputNames = ["logits", .. fused ? new[] { UldLogitsOutput } : [],
                .. cacheNames.SelectMany(c => new[] { $"{c.Item1}present.{c.Item2}.key", $"{c.Item1}present.{c.Item2}.value" })];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Session options at ONNX Runtime's error level: at warning level it reports, on every load, that the graph's
    /// overridable <see cref="LogitsLastOnlyInput"/> is not folded as a constant — which is the point of it.
    /// </summary>
    public static SessionOptions Quiet(SessionOptions options)
    {
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        return options;
    }

    public KvCache EmptyCache(int batch) => KvCache.Empty(Layers, batch, KvHeads, HeadDim);

    /// <summary>
    /// Runs one step. <paramref name="inputIds"/> and <paramref name="positionIds"/> are [batch, seq] row-major;
    /// <paramref name="attentionMask"/> is [batch, past.Length + seq]; <paramref name="alpha"/> is [batch] and
    /// required by (only by) a fused ULD graph. Only the logits of <paramref name="keep"/> are copied out of
    /// ONNX Runtime. The caller keeps ownership of <paramref name="past"/>; the returned step owns its new cache.
    /// </summary>
    public DecoderStep Run(long[] inputIds, long[] attentionMask, long[] positionIds, int batch, KvCache past,
        LogitPositions keep = LogitPositions.All, float[]? alpha = null, RunOptions? runOptions = null)
    {
        var seq = inputIds.Length / batch;
        if (inputIds.Length != batch * seq || positionIds.Length != inputIds.Length)
            throw new ArgumentException("input_ids and position_ids must both be [batch, seq].");
        if (attentionMask.Length != batch * (past.Length + seq))
            throw new ArgumentException($"attention_mask must be [batch, past + seq] = [{batch}, {past.Length + seq}].");
        if (past.Batch != batch || past.Layers != Layers) throw new ArgumentException($"cache is [{past.Layers} layers, batch {past.Batch}]; this step needs [{Layers}, {batch}].");
        if (IsFusedUld != alpha is not null) throw new ArgumentException(IsFusedUld ? "a fused ULD graph needs α per row." : "α is only an input of fused ULD graphs.");
        if (alpha is not null && alpha.Length != batch) throw new ArgumentException($"α must have one value per row ({batch}).");

        using var ids = OrtValue.CreateTensorValueFromMemory(inputIds, [batch, seq]);
        using var mask = OrtValue.CreateTensorValueFromMemory(attentionMask, [batch, past.Length + seq]);
        using var positions = OrtValue.CreateTensorValueFromMemory(positionIds, [batch, seq]);
        using var alphas = alpha is null ? null : OrtValue.CreateTensorValueFromMemory(alpha, [batch]);
        // Only the last positions wanted: graphs that can, compute the head there alone (a prompt's worth less).
        var lastOnly = keep == LogitPositions.Last && seq > 1 && _lastOnly is not null;
        string[] names = lastOnly ? [.. _inputNames, LogitsLastOnlyInput] : _inputNames;
        var inputs = new OrtValue[names.Length];
        if (lastOnly) inputs[^1] = _lastOnly!;
        (inputs[0], inputs[1], inputs[2]) = (ids, mask, positions);
        var first = 3;
        if (alphas is not null) inputs[first++] = alphas;
        for (var i = 0; i < Layers; i++)
        {
            inputs[first + 2 * i] = past.Key(i);
            inputs[first + 2 * i + 1] = past.Value(i);
        }

        var outputs = _session.Run(runOptions ?? _defaultRunOptions, names, inputs, _outputNames);
        try
        {
            var logitOutputs = IsFusedUld ? 2 : 1;
            var computed = lastOnly ? 1 : seq;
            var logits = Copy(outputs[0], batch, computed, keep);
            var uld = IsFusedUld ? Copy(outputs[1], batch, computed, keep) : null;
            var keys = new OrtValue[Layers];
            var values = new OrtValue[Layers];
            for (var i = 0; i < Layers; i++)
            {
                keys[i] = outputs[logitOutputs + 2 * i];
                values[i] = outputs[logitOutputs + 2 * i + 1];
            }
            for (var i = 0; i < logitOutputs; i++) outputs[i].Dispose();
            return new DecoderStep(logits, uld, batch, seq, Vocab, new KvCache(keys, values, batch, past.Length + seq));
        }
        catch
        {
            outputs.Dispose();
            throw;
        }
    }

    /// <summary>Copies [batch, seq, vocab] logits out of native memory, or only each row's last position.</summary>
    private float[] Copy(OrtValue logits, int batch, int seq, LogitPositions keep)
    {
        var all = logits.GetTensorDataAsSpan<float>();
        if (keep == LogitPositions.All || seq == 1) return all.ToArray();
        var last = new float[batch * Vocab];
        for (var b = 0; b < batch; b++) all.Slice((b * seq + seq - 1) * Vocab, Vocab).CopyTo(last.AsSpan(b * Vocab, Vocab));
        return last;
    }

    public void Dispose()
    {
        _session.Dispose();
        _defaultRunOptions.Dispose();
        _lastOnly?.Dispose();
    }
}
