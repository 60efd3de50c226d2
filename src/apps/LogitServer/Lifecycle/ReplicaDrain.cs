namespace Uld.LogitServer.Lifecycle;

/// <summary>
/// Whether this replica still admits requests, and how many admitted ones are still running. Once draining has begun
/// nothing new is admitted; <see cref="WhenIdleAsync"/> completes when the last admitted request (an SSE stream
/// included) has ended.
/// </summary>
public sealed class ReplicaDrain
{
    private int _inFlight;
    private int _draining;
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsDraining => Volatile.Read(ref _draining) == 1;
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Stops admitting. Idempotent.</summary>
    public void Begin()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 0 && InFlight == 0) _idle.TrySetResult();
    }

    /// <summary>A lease to dispose when the request ends, or null when the replica is draining.</summary>
    public Lease? TryAdmit()
    {
        // Count first, then look: a request counted before Begin() read the count is waited for; one that sees the
        // flag set backs out.
        Interlocked.Increment(ref _inFlight);
        if (!IsDraining) return new Lease(this);
        Release();
        return null;
    }

    public Task WhenIdleAsync(CancellationToken cancellationToken) => _idle.Task.WaitAsync(cancellationToken);

    private void Release()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && IsDraining) _idle.TrySetResult();
    }

    public sealed class Lease(ReplicaDrain drain) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) drain.Release();
        }
    }
}
