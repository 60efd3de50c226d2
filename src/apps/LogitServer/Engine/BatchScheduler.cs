using System.Diagnostics;
using System.Threading.Channels;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The continuous-batching loop of one deployment, on its own thread. Each iteration drops finished or cancelled
/// rows, prefills waiting requests and merges them into the running batch, then runs one decode step for every row
/// (the base and its companions together: a ULD assistant, or an offset deployment's unlearned and reference models,
/// each with its own KV cache). Rows are left-padded in a shared KV cache; the cache is rebuilt only when
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
    /// <summary>One cache per companion model (<see cref="Deployment.CompanionModels"/>), in the same order.</summary>
    private KvCache[] _companionCaches = [];
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
        var (baseStep, companionSteps) = RunModels(ids, mask, positions, batch, null, null, keep, alphas);
        using var baseCache = baseStep.Present;
        var companionCaches = companionSteps.Select(c => c.Present).ToArray();
        using var disposeCompanions = new CacheSet(companionCaches);
        EngineMetrics.PromptTokens.WithLabels(_label).Inc(newcomers.Sum(s => s.Prompt.Count));
        EngineMetrics.StepSeconds.WithLabels(_label, "prefill").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);

        var sampling = Stopwatch.GetTimestamp();
        var (logits, logprobs) = (new float[_deployment.BaseModel.Vocab], new float[_deployment.BaseModel.Vocab]);
        var joining = new List<(KvCache Base, KvCache[] Companions, int Row, int Skip, Sequence Sequence)>();
        for (var j = 0; j < batch; j++)
        {
            var sequence = newcomers[j];
            var padding = length - sequence.Prompt.Count;
            if (sequence.WantsPromptLogprobs) sequence.Emit(PromptLogprobs(sequence, baseStep, companionSteps, j, padding, logits, logprobs));
            EngineMetrics.TimeToFirstToken.WithLabels(_label).Observe(Stopwatch.GetElapsedTime(sequence.EnqueuedTimestamp).TotalSeconds);
            if (sequence.MaxNewTokens == 0)
            {
                sequence.Complete(new FinishedEvent("length"));
                continue;
            }
            Combine(sequence, baseStep, companionSteps, j, length - 1, logits, logprobs);
            if (Advance(sequence, logits, logprobs)) joining.Add((baseCache, companionCaches, j, padding, sequence));
        }
        EngineMetrics.EngineSeconds.WithLabels(_label, "sampling").Inc(Stopwatch.GetElapsedTime(sampling).TotalSeconds);
        if (joining.Count == 0) return;

        // The running rows keep their real columns; newcomers bring theirs from the prefill cache.
        var merged = _rows.Select(r => (Base: _baseCache!, Companions: _companionCaches, Row: _rows.IndexOf(r), Skip: r.Padding, r.Sequence))
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

        var (baseStep, companionSteps) = RunModels(ids, mask, positions, batch, _baseCache, _companionCaches, LogitPositions.Last, alphas);
        _baseCache!.Dispose();
        foreach (var cache in _companionCaches) cache.Dispose();
        (_baseCache, _companionCaches, _length) = (baseStep.Present, companionSteps.Select(c => c.Present).ToArray(), total);
        EngineMetrics.BatchSize.WithLabels(_label).Observe(batch);
        EngineMetrics.StepSeconds.WithLabels(_label, "decode").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);

        var sampling = Stopwatch.GetTimestamp();
        var (logits, logprobs) = (new float[_deployment.BaseModel.Vocab], new float[_deployment.BaseModel.Vocab]);
        for (var i = 0; i < batch; i++)
        {
            var row = _rows[i];
            if (row.Done || row.Sequence.IsCancelled) continue;
            Combine(row.Sequence, baseStep, companionSteps, i, 0, logits, logprobs);
            row.Done = !Advance(row.Sequence, logits, logprobs);
        }
        EngineMetrics.EngineSeconds.WithLabels(_label, "sampling").Inc(Stopwatch.GetElapsedTime(sampling).TotalSeconds);
    }

    /// <summary>
    /// Samples the next token from the combined logits (the request's sampling controls act there), reports it with
    /// its log-probability under the deployment's distribution, and says whether the sequence goes on.
    /// </summary>
    private bool Advance(Sequence sequence, float[] logits, float[] logprobs)
    {
        var token = sequence.Sampler.Next(logits);
        // A constraint that allows nothing more ends the text as EOS would.
        if (token == _deployment.EosId || token == TokenSampler.NoToken)
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

    /// <summary>
    /// The row's next-token distribution at a position, as combined logits (the deployment's kind applies its rule to
    /// the step's base and companion logits) and their log-softmax.
    /// </summary>
    private void Combine(Sequence sequence, DecoderStep baseStep, DecoderStep[] companions, int row, int position, float[] logits, float[] logprobs)
    {
        _deployment.Kind.Combine(_deployment.Options, baseStep, companions, row, position, sequence.Parameters, logits);
        UldLogits.LogSoftmax(logits, logprobs);
    }

    private PromptLogprobsEvent PromptLogprobs(Sequence sequence, DecoderStep baseStep, DecoderStep[] companions, int row, int padding, float[] logits, float[] buffer)
    {
        var n = sequence.Prompt.Count;
        var values = new float?[n];
        var top = new (int, float)[n][];
        top[0] = [];
        for (var t = 1; t < n; t++)
        {
            var position = padding + t - 1; // the distribution at t − 1 predicts token t
            Combine(sequence, baseStep, companions, row, position, logits, buffer);
            values[t] = buffer[sequence.Prompt[t]];
            top[t] = UldLogits.Top(buffer, sequence.Parameters.TopLogprobs);
        }
        return new PromptLogprobsEvent(values, top);
    }

    /// <summary>
    /// One step of the deployment's sessions: the base (or a fused ULD graph, which takes α per row) and its companions
    /// (a two-session ULD pair's assistant, an offset deployment's unlearned and reference models) — the companions
    /// one after the other beside the base when the threading plan gives them their own cores.
    /// </summary>
    private (DecoderStep Base, DecoderStep[] Companions) RunModels(long[] ids, long[] mask, long[] positions, int batch, KvCache? basePast, KvCache[]? companionPast,
        LogitPositions keep, float[] alphas)
    {
        var companions = _deployment.CompanionModels;
        DecoderStep RunBase()
        {
            var model = _deployment.BaseModel;
            using var empty = basePast is null ? model.EmptyCache(batch) : null;
            return model.Run(ids, mask, positions, batch, basePast ?? empty!, keep, _deployment.Kind.BaseTakesAlpha ? alphas : null);
        }
        DecoderStep[] RunCompanions()
        {
            var steps = new List<DecoderStep>(companions.Count);
            try
            {
                for (var i = 0; i < companions.Count; i++)
                {
                    using var empty = companionPast is null ? companions[i].EmptyCache(batch) : null;
                    steps.Add(companions[i].Run(ids, mask, positions, batch, companionPast?[i] ?? empty!, keep));
                }
                return [.. steps];
            }
            catch
            {
                foreach (var step in steps) step.Present.Dispose();
                throw;
            }
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            if (companions.Count == 0) return (RunBase(), []);
            if (!_concurrentUld) return (RunBase(), RunCompanions());
            return RunConcurrently(RunBase, RunCompanions);
        }
        finally
        {
            EngineMetrics.EngineSeconds.WithLabels(_label, "session").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private static (DecoderStep Base, DecoderStep[] Companions) RunConcurrently(Func<DecoderStep> runBase, Func<DecoderStep[]> runCompanions)
    {
        var companionTask = Task.Run(runCompanions);
        DecoderStep baseStep;
        try
        {
            baseStep = runBase();
        }
        catch
        {
            try
            {
                foreach (var step in companionTask.GetAwaiter().GetResult()) step.Present.Dispose();
            }
            catch (Exception) { /* the base failure is the one to report */ }
            throw;
        }
        return (baseStep, companionTask.GetAwaiter().GetResult());
    }

    private void DropFinishedRows()
    {
        if (_rows.Count == 0) return;
        foreach (var row in _rows.Where(r => r.Sequence.IsCancelled && !r.Done)) row.Sequence.Complete(new FinishedEvent("cancelled"));
        if (!_rows.Any(r => r.Done || r.Sequence.IsCancelled)) return;
        var keep = _rows.Select((r, i) => (Base: _baseCache!, Companions: _companionCaches, Row: i, Skip: r.Padding, r.Sequence, Keep: !r.Done && !r.Sequence.IsCancelled))
            .Where(x => x.Keep).Select(x => (x.Base, x.Companions, x.Row, x.Skip, x.Sequence)).ToList();
        if (keep.Count == 0)
        {
            ResetBatch();
            return;
        }
        RebuildCache(keep);
    }

    /// <summary>Replaces the batch with <paramref name="rows"/>, each keeping only its real (unpadded) columns.</summary>
    private void RebuildCache(List<(KvCache Base, KvCache[] Companions, int Row, int Skip, Sequence Sequence)> rows)
    {
        var started = Stopwatch.GetTimestamp();
        var length = rows.Max(r => r.Base.Length - r.Skip);
        var newBase = KvCache.Gather(rows.Select(r => (r.Base, r.Row, r.Skip)).ToList(), length);
        var newCompanions = Enumerable.Range(0, _deployment.CompanionModels.Count)
            .Select(c => KvCache.Gather(rows.Select(r => (r.Companions[c], r.Row, r.Skip)).ToList(), length)).ToArray();
        var newRows = rows.Select(r => new Row(r.Sequence, length - (r.Base.Length - r.Skip))).ToList();
        _baseCache?.Dispose();
        foreach (var cache in _companionCaches) cache.Dispose();
        (_baseCache, _companionCaches, _length) = (newBase, newCompanions, length);
        _rows.Clear();
        _rows.AddRange(newRows);
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(_rows.Count);
        EngineMetrics.EngineSeconds.WithLabels(_label, "cache").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private void ResetBatch()
    {
        _baseCache?.Dispose();
        foreach (var cache in _companionCaches) cache.Dispose();
        (_baseCache, _companionCaches, _length) = (null, [], 0);
        _rows.Clear();
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(0);
    }

    /// <summary>Disposes a prefill's companion caches once the new rows have been gathered out of them.</summary>
    private readonly struct CacheSet(KvCache[] caches) : IDisposable
    {
        public void Dispose()
        {
            foreach (var cache in caches) cache.Dispose();
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join(TimeSpan.FromSeconds(30));
    }
}
