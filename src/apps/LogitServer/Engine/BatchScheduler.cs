using System.Diagnostics;
using System.Threading.Channels;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The continuous-batching loop of one deployment, on its own thread. Each iteration drops finished or cancelled
/// rows, prefills waiting requests and merges them into the running batch, then runs one decode step for every row
/// (base and assistant together for ULD). Rows are left-padded in a shared KV cache; the cache is rebuilt only when
/// membership changes, which also trims padding no row needs any more.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private sealed class Row(Sequence sequence, int padding)
    {
        public Sequence Sequence { get; } = sequence;
        /// <summary>Masked columns at the left of this row in the batch cache.</summary>
        public int Padding { get; set; } = padding;
        public bool Done { get; set; }
    }

    private readonly Deployment _deployment;
    private readonly LogitServerOptions _options;
    private readonly bool _concurrentUld;
    private readonly ILogger _logger;
    private readonly Channel<Sequence> _queue;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Row> _rows = [];
    private readonly string _label;
    private KvCache? _baseCache;
    private KvCache? _assistantCache;
    private int _length;
    private int _queued;

    public BatchScheduler(Deployment deployment, LogitServerOptions options, ThreadingPlan plan, ILogger logger)
    {
        _concurrentUld = plan.ConcurrentUldSessions;
        _deployment = deployment;
        _options = options;
        _logger = logger;
        _label = deployment.Name;
        _queue = Channel.CreateBounded<Sequence>(new BoundedChannelOptions(options.MaxQueuedRequests) { SingleReader = true });
        _thread = new Thread(Loop) { IsBackground = true, Name = $"scheduler:{deployment.Name}" };
        _thread.Start();
    }

    public Deployment Deployment => _deployment;

    /// <summary>Queues a sequence; false when the queue is full or the server is draining.</summary>
    public bool TryEnqueue(Sequence sequence)
    {
        if (!_queue.Writer.TryWrite(sequence))
        {
            EngineMetrics.Rejected.WithLabels(_label).Inc();
            return false;
        }
        EngineMetrics.QueueDepth.WithLabels(_label).Set(Interlocked.Increment(ref _queued));
        return true;
    }

    /// <summary>Stops admitting; the loop finishes what it holds, then exits.</summary>
    public Task DrainAsync()
    {
        _queue.Writer.TryComplete();
        return _stopped.Task;
    }

    private void Loop()
    {
        try
        {
            while (true)
            {
                DropFinishedRows();
                if (_rows.Count == 0 && !_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;

                var newcomers = new List<Sequence>();
                while (_rows.Count + newcomers.Count < _options.MaxBatchSize && _queue.Reader.TryRead(out var sequence))
                {
                    EngineMetrics.QueueDepth.WithLabels(_label).Set(Interlocked.Decrement(ref _queued));
                    if (sequence.IsCancelled) sequence.Complete(new FinishedEvent("cancelled"));
                    else newcomers.Add(sequence);
                }

                try
                {
                    if (newcomers.Count > 0) Prefill(newcomers);
                    if (_rows.Any(r => !r.Done && !r.Sequence.IsCancelled)) DecodeStep();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    _logger.LogError(e, "Engine step failed on {Deployment}; failing {Rows} sequences", _label, _rows.Count + newcomers.Count);
                    foreach (var s in _rows.Select(r => r.Sequence).Concat(newcomers).Distinct()) s.Complete(new FailedEvent("the engine failed while generating: " + e.Message));
                    ResetBatch();
                }
            }
        }
        finally
        {
            ResetBatch();
            _stopped.TrySetResult();
        }
    }

    private void Prefill(List<Sequence> newcomers)
    {
        var started = Stopwatch.GetTimestamp();
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

        // Full [batch, seq, vocab] logits leave ONNX Runtime only when someone scores the prompt.
        var keep = newcomers.Any(s => s.WantsPromptLogprobs) ? LogitPositions.All : LogitPositions.Last;
        var alphas = newcomers.Select(s => (float)s.Parameters.Alpha).ToArray();
        var (baseStep, assistantStep) = RunModels(ids, mask, positions, batch, null, null, keep, alphas);
        using var baseCache = baseStep.Present;
        using var assistantCache = assistantStep?.Present;
        EngineMetrics.PromptTokens.WithLabels(_label).Inc(newcomers.Sum(s => s.Prompt.Count));
        EngineMetrics.StepSeconds.WithLabels(_label, "prefill").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);

        var sampling = Stopwatch.GetTimestamp();
        var logprobs = new float[_deployment.BaseModel.Vocab];
        var joining = new List<(KvCache Base, KvCache? Assistant, int Row, int Skip, Sequence Sequence)>();
        for (var j = 0; j < batch; j++)
        {
            var sequence = newcomers[j];
            var padding = length - sequence.Prompt.Count;
            if (sequence.WantsPromptLogprobs) sequence.Emit(PromptLogprobs(sequence, baseStep, assistantStep, j, padding, logprobs));
            EngineMetrics.TimeToFirstToken.WithLabels(_label).Observe(Stopwatch.GetElapsedTime(sequence.EnqueuedTimestamp).TotalSeconds);
            if (sequence.MaxNewTokens == 0)
            {
                sequence.Complete(new FinishedEvent("length"));
                continue;
            }
            Combine(sequence, baseStep, assistantStep, j, length - 1, logprobs);
            if (Advance(sequence, logprobs)) joining.Add((baseCache, assistantCache, j, padding, sequence));
        }
        EngineMetrics.EngineSeconds.WithLabels(_label, "sampling").Inc(Stopwatch.GetElapsedTime(sampling).TotalSeconds);
        if (joining.Count == 0) return;

        // The running rows keep their real columns; newcomers bring theirs from the prefill cache.
        var merged = _rows.Select(r => (Base: _baseCache!, Assistant: _assistantCache, Row: _rows.IndexOf(r), Skip: r.Padding, r.Sequence))
            .Concat(joining).ToList();
        RebuildCache(merged);
    }

    private void DecodeStep()
    {
        var started = Stopwatch.GetTimestamp();
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

        var (baseStep, assistantStep) = RunModels(ids, mask, positions, batch, _baseCache, _assistantCache, LogitPositions.Last, alphas);
        _baseCache!.Dispose();
        _assistantCache?.Dispose();
        (_baseCache, _assistantCache, _length) = (baseStep.Present, assistantStep?.Present, total);
        EngineMetrics.BatchSize.WithLabels(_label).Observe(batch);
        EngineMetrics.StepSeconds.WithLabels(_label, "decode").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);

        var sampling = Stopwatch.GetTimestamp();
        var logprobs = new float[_deployment.BaseModel.Vocab];
        for (var i = 0; i < batch; i++)
        {
            var row = _rows[i];
            if (row.Done || row.Sequence.IsCancelled) continue;
            Combine(row.Sequence, baseStep, assistantStep, i, 0, logprobs);
            row.Done = !Advance(row.Sequence, logprobs);
        }
        EngineMetrics.EngineSeconds.WithLabels(_label, "sampling").Inc(Stopwatch.GetElapsedTime(sampling).TotalSeconds);
    }

    /// <summary>Samples the next token, reports it, and says whether the sequence goes on.</summary>
    private bool Advance(Sequence sequence, float[] logprobs)
    {
        var token = sequence.Sampler.Next(logprobs);
        if (token == _deployment.EosId)
        {
            sequence.Complete(new FinishedEvent("stop"));
            return false;
        }
        sequence.Generated++;
        EngineMetrics.GeneratedTokens.WithLabels(_label).Inc();
        sequence.Emit(new TokenEvent(token, logprobs[token], UldLogits.Top(logprobs, sequence.Parameters.TopLogprobs)));
        if (sequence.Generated >= sequence.MaxNewTokens)
        {
            sequence.Complete(new FinishedEvent("length"));
            return false;
        }
        sequence.PendingToken = token;
        return true;
    }

    /// <summary>The row's next-token distribution at a position, from two sessions' logits or a fused graph's.</summary>
    private static void Combine(Sequence sequence, DecoderStep baseStep, DecoderStep? assistantStep, int row, int position, float[] logprobs)
    {
        var (alpha, relativeTop) = (sequence.Parameters.Alpha, sequence.Parameters.RelativeTop);
        if (baseStep.UldLogits is not null)
            UldLogits.CombineFused(baseStep.Row(row, position), baseStep.UldRow(row, position), alpha, relativeTop, logprobs);
        else
            UldLogits.Combine(baseStep.Row(row, position), assistantStep is null ? default : assistantStep.Row(row, position), alpha, relativeTop, logprobs);
    }

    private static PromptLogprobsEvent PromptLogprobs(Sequence sequence, DecoderStep baseStep, DecoderStep? assistantStep, int row, int padding, float[] buffer)
    {
        var n = sequence.Prompt.Count;
        var values = new float?[n];
        var top = new (int, float)[n][];
        top[0] = [];
        for (var t = 1; t < n; t++)
        {
            var position = padding + t - 1; // the distribution at t − 1 predicts token t
            Combine(sequence, baseStep, assistantStep, row, position, buffer);
            values[t] = buffer[sequence.Prompt[t]];
            top[t] = UldLogits.Top(buffer, sequence.Parameters.TopLogprobs);
        }
        return new PromptLogprobsEvent(values, top);
    }

    /// <summary>
    /// One step of the deployment's sessions: the base (or a fused ULD graph, α per row inside it) and, for a
    /// two-session ULD pair, the assistant — concurrently when the threading plan gives each its own cores.
    /// </summary>
    private (DecoderStep Base, DecoderStep? Assistant) RunModels(long[] ids, long[] mask, long[] positions, int batch, KvCache? basePast, KvCache? assistantPast,
        LogitPositions keep, float[] alphas)
    {
        var assistant = _deployment.AssistantModel;
        DecoderStep RunBase()
        {
            var model = _deployment.BaseModel;
            using var empty = basePast is null ? model.EmptyCache(batch) : null;
            return model.Run(ids, mask, positions, batch, basePast ?? empty!, keep, model.IsFusedUld ? alphas : null);
        }
        DecoderStep RunAssistant()
        {
            using var empty = assistantPast is null ? assistant!.EmptyCache(batch) : null;
            return assistant!.Run(ids, mask, positions, batch, assistantPast ?? empty!, keep);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            if (assistant is null) return (RunBase(), null);
            if (!_concurrentUld) return (RunBase(), RunAssistant());
            return RunConcurrently(RunBase, RunAssistant);
        }
        finally
        {
            EngineMetrics.EngineSeconds.WithLabels(_label, "session").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private static (DecoderStep Base, DecoderStep? Assistant) RunConcurrently(Func<DecoderStep> runBase, Func<DecoderStep> runAssistant)
    {
        var assistantTask = Task.Run(runAssistant);
        DecoderStep baseStep;
        try
        {
            baseStep = runBase();
        }
        catch
        {
            try { assistantTask.GetAwaiter().GetResult().Present.Dispose(); } catch (Exception) { /* the base failure is the one to report */ }
            throw;
        }
        return (baseStep, assistantTask.GetAwaiter().GetResult());
    }

    private void DropFinishedRows()
    {
        if (_rows.Count == 0) return;
        foreach (var row in _rows.Where(r => r.Sequence.IsCancelled && !r.Done)) row.Sequence.Complete(new FinishedEvent("cancelled"));
        if (!_rows.Any(r => r.Done || r.Sequence.IsCancelled)) return;
        var keep = _rows.Select((r, i) => (Base: _baseCache!, Assistant: _assistantCache, Row: i, Skip: r.Padding, r.Sequence, Keep: !r.Done && !r.Sequence.IsCancelled))
            .Where(x => x.Keep).Select(x => (x.Base, x.Assistant, x.Row, x.Skip, x.Sequence)).ToList();
        if (keep.Count == 0)
        {
            ResetBatch();
            return;
        }
        RebuildCache(keep);
    }

    /// <summary>Replaces the batch with <paramref name="rows"/>, each keeping only its real (unpadded) columns.</summary>
    private void RebuildCache(List<(KvCache Base, KvCache? Assistant, int Row, int Skip, Sequence Sequence)> rows)
    {
        var started = Stopwatch.GetTimestamp();
        var length = rows.Max(r => r.Base.Length - r.Skip);
        var newBase = KvCache.Gather(rows.Select(r => (r.Base, r.Row, r.Skip)).ToList(), length);
        var newAssistant = _deployment.AssistantModel is null ? null : KvCache.Gather(rows.Select(r => (r.Assistant!, r.Row, r.Skip)).ToList(), length);
        var newRows = rows.Select(r => new Row(r.Sequence, length - (r.Base.Length - r.Skip))).ToList();
        _baseCache?.Dispose();
        _assistantCache?.Dispose();
        (_baseCache, _assistantCache, _length) = (newBase, newAssistant, length);
        _rows.Clear();
        _rows.AddRange(newRows);
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(_rows.Count);
        EngineMetrics.EngineSeconds.WithLabels(_label, "cache").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private void ResetBatch()
    {
        _baseCache?.Dispose();
        _assistantCache?.Dispose();
        (_baseCache, _assistantCache, _length) = (null, null, 0);
        _rows.Clear();
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(0);
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join(TimeSpan.FromSeconds(30));
    }
}
