namespace Uld.LogitServer.Engine;

/// <summary>
/// How many prompt tokens one scheduler iteration may run before the next decode step (chunked prefill). While streams
/// are decoding, a prompt's work per iteration gets at most <c>share</c> × the last decode step's time, so a long
/// prompt arriving raises the running streams' inter-token latency to at most (1 + share)× instead of stalling them
/// for its whole prefill; with nothing decoding, a prompt runs whole. Time is turned into tokens with the prefill rate
/// measured so far (tokens per second of prompt work, per-call overhead included, so the chunk that fits the time is
/// what it converges to). Pure arithmetic: the scheduler reports what it measured and asks for the next budget.
/// </summary>
internal sealed class PrefillBudget(double share, int minChunk)
{
    /// <summary>How fast a new measurement replaces the old: prompt work varies with length and position.</summary>
    private const double Smoothing = 0.5;

    private double? _tokensPerSecond;
    private double _decodeSeconds;

    /// <summary>Budget that means "the whole of every waiting prompt".</summary>
    public const int Unlimited = int.MaxValue;

    /// <summary>Prompt tokens to run next: unlimited when no stream is waiting on this iteration or chunking is off.</summary>
    public int Next(bool streamsDecoding)
    {
        if (!streamsDecoding || share <= 0) return Unlimited;
        if (_tokensPerSecond is not { } rate || _decodeSeconds <= 0) return minChunk;
        var tokens = share * _decodeSeconds * rate;
        return tokens >= Unlimited ? Unlimited : Math.Max(minChunk, (int)tokens);
    }

    public void ObservePrefill(int tokens, double seconds)
    {
        if (tokens <= 0 || seconds <= 0) return;
        var rate = tokens / seconds;
        _tokensPerSecond = _tokensPerSecond is { } old ? old + Smoothing * (rate - old) : rate;
    }

    public void ObserveDecode(double seconds)
    {
        if (seconds > 0) _decodeSeconds = _decodeSeconds > 0 ? _decodeSeconds + Smoothing * (seconds - _decodeSeconds) : seconds;
    }
}
