using Uld.LogitServer.Admission;

namespace Uld.LogitServer.Streaming;

/// <summary>How a completion request ended, as far as it got: what its log line reports.</summary>
public sealed class RequestOutcome(string id)
{
    private readonly SortedDictionary<int, string> _finishReasons = [];

    public string Id { get; } = id;
    public AdmittedRequest? Request { get; set; }
    public SequenceStream? Stream { get; set; }
    /// <summary>The HTTP status, or for a stream that failed after its headers, the status of the in-band error.</summary>
    public int Status { get; set; } = 200;

    /// <summary>The choices' finish reasons in index order, comma-separated when they differ ("" before any ended).</summary>
    public string FinishReason
    {
        get
        {
            lock (_finishReasons) return string.Join(',', _finishReasons.Values.Distinct());
        }
    }

    public void Finished(int index, string reason)
    {
        lock (_finishReasons) _finishReasons[index] = reason;
    }
}
