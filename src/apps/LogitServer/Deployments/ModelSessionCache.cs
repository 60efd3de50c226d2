using Uld.Inference;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// One ONNX Runtime session per model file, shared by every deployment that uses it (a plain deployment and the ULD
/// deployments over the same base; several α policies over one pair). Weights are the bulk of a server's memory, and
/// a session is safe to run from several scheduler threads at once. Sessions are reference-counted: the last lease
/// to be disposed disposes the session.
/// </summary>
public sealed class ModelSessionCache(Func<SessionOptions> sessionOptions)
{
    private sealed class Entry(OnnxCausalLm model)
    {
        public OnnxCausalLm Model { get; } = model;
        public int Leases { get; set; }
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Sessions currently loaded.</summary>
    public int LoadedSessions
    {
        get
        {
            lock (_lock) return _entries.Count;
        }
    }

    /// <summary>A lease on the session for <paramref name="onnxPath"/>, loading it on first use.</summary>
    public ModelSessionLease Acquire(string onnxPath)
    {
        var key = Path.GetFullPath(onnxPath);
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                using var options = sessionOptions();
                entry = new Entry(new OnnxCausalLm(key, options));
                _entries[key] = entry;
            }
            entry.Leases++;
            return new ModelSessionLease(entry.Model, () => Release(key));
        }
    }

    private void Release(string key)
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
