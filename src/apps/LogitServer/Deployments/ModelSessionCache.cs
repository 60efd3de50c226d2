using Uld.Inference;
using Uld.Inference.Weights;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// One ONNX Runtime session per model file, shared by every deployment that uses it (a plain deployment and the ULD
/// deployments over the same base; several α policies over one pair). Weights are the bulk of a server's memory, and
/// a session is safe to run from several scheduler threads at once. Sessions are reference-counted: the last lease
/// to be disposed disposes the session. Sessions are shared per file and device: when two deployments would give one
/// file different thread counts (a ULD pair's half of the cores, a plain deployment's all), the first one loaded
/// wins, because a second copy of the weights costs more than a less-than-ideal thread count. Across files, CPU
/// sessions share the weights <paramref name="shared"/> found identical (a ULD assistant's embedding and head are its
/// base's); the cache owns them and disposes them after its last session.
/// <para>
/// A session is also keyed by the sha256 of the file's content: a deployment replaced at run time by one whose model
/// directory was rewritten at the same path must get the new weights, not the session of the old ones that the
/// version still draining holds. The shared weights were planned from the content first seen at a path, so a session
/// of other content at that path loads its file on its own.
/// </para>
/// </summary>
public sealed class ModelSessionCache(SharedWeights shared) : IDisposable
{
    private sealed class Entry(IDisposable model)
    {
        public IDisposable Model { get; } = model;
        public int Leases { get; set; }
    }

    /// <summary>Sessions by file, content and device; a serving graph (<see cref="ServingCausalLm"/>) is keyed by its own file.</summary>
    private readonly Dictionary<(string Path, string? ContentHash, ExecutionProvider Provider, int DeviceId), Entry> _entries = new();
    /// <summary>The content hash of each path when it was first loaded: the content the shared weights were planned from.</summary>
    private readonly Dictionary<string, string?> _firstContent = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Sessions currently loaded.</summary>
    public int LoadedSessions
    {
        get
        {
            lock (_lock) return _entries.Count;
        }
    }

    /// <summary>A lease on the session for <paramref name="onnxPath"/> on the settings' device, loading it on first use.</summary>
    /// <param name="contentHash">The sha256 of the file as its deployment verified it; null when unknown (tests).</param>
    public ModelSessionLease Acquire(string onnxPath, SessionSettings settings, string? contentHash = null) =>
        Lease(onnxPath, settings, contentHash, (path, options, prepacked) => new OnnxCausalLm(path, options, prepacked),
            (model, release) => new ModelSessionLease((OnnxCausalLm)model, release));

    /// <summary>A lease on the session of a serving graph (<c>onnx/serving.onnx</c>), shared as <see cref="Acquire"/>'s are.</summary>
    /// <param name="contentHash">The sha256 of the serving graph as its deployment verified it; null when unknown (tests).</param>
    public ServingSessionLease AcquireServing(string servingPath, SessionSettings settings, string? contentHash = null) =>
        Lease(servingPath, settings, contentHash, (path, options, prepacked) => new ServingCausalLm(path, options, prepacked),
            (model, release) => new ServingSessionLease((ServingCausalLm)model, release));

    private TLease Lease<TLease>(string onnxPath, SessionSettings settings, string? contentHash,
        Func<string, Microsoft.ML.OnnxRuntime.SessionOptions, Microsoft.ML.OnnxRuntime.PrePackedWeightsContainer?, IDisposable> load,
        Func<IDisposable, Action, TLease> lease)
    {
        var path = Path.GetFullPath(onnxPath);
        var key = (path, contentHash?.ToLowerInvariant(), settings.ExecutionProvider, settings.DeviceId);
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                using var options = settings.Create();
                var cpu = settings.ExecutionProvider == ExecutionProvider.Cpu;
                if (!_firstContent.TryGetValue(path, out var planned)) _firstContent[path] = planned = key.Item2;
                var sharing = cpu && planned == key.Item2;
                if (sharing) shared.AddTo(path, options);
                entry = new Entry(load(path, options, cpu ? shared.Container : null));
                _entries[key] = entry;
                if (sharing) shared.DropResidentPages();
            }
            entry.Leases++;
            return lease(entry.Model, () => Release(key));
        }
    }

    /// <summary>The weights shared between files.</summary>
    public SharedWeights Shared => shared;

    /// <summary>
    /// Releases the shared weights once no session is loaded. While one still is (a lease not yet disposed), they stay:
    /// its session reads them, and unmapping them under it would crash the process rather than end it.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_entries.Count == 0) shared.Dispose();
        }
    }

    private void Release((string, string?, ExecutionProvider, int) key)
    {
        lock (_lock)
        {
            var entry = _entries[key];
            if (--entry.Leases > 0) return;
            _entries.Remove(key);
            entry.Model.Dispose();
        }
    }
}

/// <summary>A deployment's hold on a shared session; disposing it releases the hold (once).</summary>
public sealed class ModelSessionLease(OnnxCausalLm model, Action release) : IDisposable
{
    private int _released;

    public OnnxCausalLm Model { get; } = model;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) release();
    }
}

/// <summary>A deployment's hold on a shared serving-graph session; disposing it releases the hold (once).</summary>
public sealed class ServingSessionLease(ServingCausalLm model, Action release) : IDisposable
{
    private int _released;

    public ServingCausalLm Model { get; } = model;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) release();
    }
}
