namespace Uld.Eval.Client;

/// <summary>Runs one API-bound computation per item with a bounded number in flight: the server batches them.</summary>
public static class ConcurrentRequests
{
    /// <param name="tick">called after each item is done (progress)</param>
    public static async Task<TOut[]> MapAsync<TIn, TOut>(IReadOnlyList<TIn> items, int concurrency, Func<TIn, Task<TOut>> body, Action? tick, CancellationToken ct)
    {
        var results = new TOut[items.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct },
            async (i, _) =>
            {
                results[i] = await body(items[i]);
                tick?.Invoke();
            });
        return results;
    }
}
