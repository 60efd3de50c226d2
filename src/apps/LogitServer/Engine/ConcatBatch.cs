using System.Diagnostics;
using Uld.Inference;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The batch of Contract 2 graphs (<c>onnx/model.onnx</c>, fused ULD graphs, and every kind with companions): rows
/// left-padded in one KV cache per session, which each step's graph returns concatenated with the new position. The
/// cache is rebuilt (<see cref="KvCache.Gather"/>) only when membership changes, which also trims padding no row needs
/// any more. Admitted prompts run whole, together, in one left-padded prefill (the graph's concatenated cache cannot
/// be extended a chunk at a time without copying it).
/// </summary>
internal sealed class ConcatBatch(Deployment deployment, SessionRunner runner, int maxRows, string label) : IBatch
{
    private sealed record Row(Sequence Sequence, int Padding);

    private readonly List<Row> _rows = [];
    private readonly List<Sequence> _admitted = [];
    private KvCache? _baseCache;
    /// <summary>One cache per companion model (<see cref="Deployment.CompanionModels"/>), in the same order.</summary>
    private KvCache[] _companionCaches = [];
    private int _length;

    // A snapshot, made again only after the rows change: the scheduler reads it several times a step.
    public IReadOnlyList<Sequence> Sequences => _sequences ??= _rows.Select(r => r.Sequence).ToList();
    private List<Sequence>? _sequences;
    public IReadOnlyList<Sequence> Prefilling => _admitted;
    public int Room => maxRows - _rows.Count - _admitted.Count;

    public int Admit(IReadOnlyList<Sequence> newcomers)
    {
        _admitted.AddRange(newcomers);
        return 0;
    }

    public Prefilled Prefill(int tokens)
    {
        var newcomers = _admitted.ToList();
        _admitted.Clear();
        if (newcomers.Count == 0) return new Prefilled([], 0);
        // Full [batch, seq, vocab] logits leave ONNX Runtime only when someone scores the prompt.
        var keep = newcomers.Any(s => s.WantsPromptLogprobs) ? LogitPositions.All : LogitPositions.Last;
        var batch = newcomers.Count;
        var length = newcomers.Max(s => s.Prompt.Count);
        var (ids, mask, positions) = (new long[batch * length], new long[batch * length], new long[batch * length]);
        for (var j = 0; j < batch; j++)
        {
            var prompt = newcomers[j].Prompt;
            var padding = length - prompt.Count;
            for (var t = 0; t < length; t++)
            {
                var i = j * length + t;
                (ids[i], mask[i], positions[i]) = t < padding ? (0L, 0L, 1L) : (prompt[t - padding], 1L, t - padding);
            }
        }
        var alphas = newcomers.Select(s => (float)s.Parameters.Alpha).ToArray();
        var step = runner.Run(ids, mask, positions, batch, null, null, keep, alphas);
        var rows = newcomers.Select((s, j) => new PrefilledRow(s, step, j, length - s.Prompt.Count)).ToList();
        return new Prefilled(rows, newcomers.Sum(s => s.Prompt.Count), () =>
        {
            step.Base.Present.Dispose();
            foreach (var companion in step.Companions) companion.Present.Dispose();
        });
    }

    public void Join(Prefilled prefill, IReadOnlyList<int> joining)
    {
        if (joining.Count == 0) return;
        // The running rows keep their real columns; newcomers bring theirs from the prefill cache.
        var merged = _rows.Select((r, i) => (Base: _baseCache!, Companions: _companionCaches, Row: i, Skip: r.Padding, r.Sequence))
            .Concat(joining.Select(j =>
            {
                var row = prefill.Rows[j];
                return (Base: row.Step.Base.Present, Companions: row.Step.Companions.Select(c => c.Present).ToArray(), row.Row, Skip: row.Offset, row.Sequence);
            }))
            .ToList();
        Rebuild(merged);
    }

    public StepLogits Decode()
    {
        var batch = _rows.Count;
        var total = _length + 1;
        var (ids, mask, positions, alphas) = (new long[batch], new long[batch * total], new long[batch], new float[batch]);
        for (var i = 0; i < batch; i++)
        {
            var row = _rows[i];
            ids[i] = row.Sequence.PendingToken;
            positions[i] = _length - row.Padding;
            alphas[i] = (float)row.Sequence.Parameters.Alpha;
            for (var t = row.Padding; t < total; t++) mask[i * total + t] = 1;
        }

        var step = runner.Run(ids, mask, positions, batch, _baseCache, _companionCaches, LogitPositions.Last, alphas);
        _baseCache!.Dispose();
        foreach (var cache in _companionCaches) cache.Dispose();
        (_baseCache, _companionCaches, _length) = (step.Base.Present, step.Companions.Select(c => c.Present).ToArray(), total);
        return step;
    }

    public void Remove(IReadOnlySet<Sequence> leaving)
    {
        _admitted.RemoveAll(leaving.Contains);
        var keep = _rows.Select((r, i) => (Base: _baseCache!, Companions: _companionCaches, Row: i, Skip: r.Padding, r.Sequence))
            .Where(x => !leaving.Contains(x.Sequence)).ToList();
        if (keep.Count == _rows.Count) return;
        if (keep.Count == 0) ClearRows();
        else Rebuild(keep);
    }

    public void Clear()
    {
        ClearRows();
        _admitted.Clear();
    }

    public void Dispose() => Clear();

    private void ClearRows()
    {
        _baseCache?.Dispose();
        foreach (var cache in _companionCaches) cache.Dispose();
        (_baseCache, _companionCaches, _length) = (null, [], 0);
        _rows.Clear();
        _sequences = null;
    }

    /// <summary>Replaces the batch with <paramref name="rows"/>, each keeping only its real (unpadded) columns.</summary>
    private void Rebuild(List<(KvCache Base, KvCache[] Companions, int Row, int Skip, Sequence Sequence)> rows)
    {
        var started = Stopwatch.GetTimestamp();
        var length = rows.Max(r => r.Base.Length - r.Skip);
        var newBase = KvCache.Gather(rows.Select(r => (r.Base, r.Row, r.Skip)).ToList(), length);
        var newCompanions = Enumerable.Range(0, deployment.CompanionModels.Count)
            .Select(c => KvCache.Gather(rows.Select(r => (r.Companions[c], r.Row, r.Skip)).ToList(), length)).ToArray();
        var newRows = rows.Select(r => new Row(r.Sequence, length - (r.Base.Length - r.Skip))).ToList();
        ClearRows();
        (_baseCache, _companionCaches, _length) = (newBase, newCompanions, length);
        _rows.AddRange(newRows);
        _sequences = null;
        EngineMetrics.EngineSeconds.WithLabels(label, "cache").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}
