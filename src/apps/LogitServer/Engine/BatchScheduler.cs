using System.Diagnostics;
using System.Threading.Channels;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The continuous-batching loop of one deployment, on its own thread. Each iteration drops finished or cancelled
/// rows, admits waiting requests, runs admitted prompts — while rows are decoding, only as many prompt tokens as the
/// <see cref="PrefillBudget"/> allows (chunked prefill), so a long prompt never stalls the running streams for its whole
/// length — lets the completed ones join, then runs one decode step for every row and samples each row's next token
/// from the distribution the deployment's kind combines. What the rows' KV state is and
/// how the sessions step it is the batch's (<see cref="IBatch"/>): slot caches written in place when the deployment
/// serves its models' serving graphs (<see cref="SlotBatch"/>), else Contract 2's concatenated cache (<see cref="ConcatBatch"/>).
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly Deployment _deployment;
    private readonly LogitServerOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Sequence> _queue;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IBatch _batch;
    /// <summary>Running sequences that ended at their last step; they leave the batch at the next.</summary>
    private readonly HashSet<Sequence> _finished = [];
    private readonly string _label;
    private readonly PrefillBudget _budget;
    private int _queued;

    public BatchScheduler(Deployment deployment, LogitServerOptions options, ThreadingPlan plan, ILogger logger)
    {
        _deployment = deployment;
        _options = options;
        _logger = logger;
        _label = deployment.Name;
        _budget = new PrefillBudget(options.PrefillTimeShare, options.MinPrefillChunkTokens);
        _batch = deployment.ServingModel is { } serving
            ? new SlotBatch(serving, deployment.ServingCompanions, plan.ConcurrentUldSessions, options.MaxBatchSize, deployment.ContextLength, _label, options.PrefixCaching)
            : new ConcatBatch(deployment, new SessionRunner(deployment, plan.ConcurrentUldSessions, _label), options.MaxBatchSize, _label);
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
                if (_batch.Sequences.Count == 0 && _batch.Prefilling.Count == 0 && !_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;

                var newcomers = new List<Sequence>();
                var room = _batch.Room;
                while (newcomers.Count < room && _queue.Reader.TryRead(out var sequence))
                {
                    EngineMetrics.QueueDepth.WithLabels(_label).Set(Interlocked.Decrement(ref _queued));
                    if (sequence.IsCancelled) sequence.Complete(new FinishedEvent("cancelled"));
                    else newcomers.Add(sequence);
                }

                try
                {
                    if (newcomers.Count > 0) EngineMetrics.CachedPromptTokens.WithLabels(_label).Inc(_batch.Admit(newcomers));
                    if (_batch.Prefilling.Count > 0) Prefill(_budget.Next(streamsDecoding: Decoding()));
                    if (Decoding()) DecodeStep();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    var held = _batch.Sequences.Concat(_batch.Prefilling).Concat(newcomers).Distinct().ToList();
                    _logger.LogError(e, "Engine step failed on {Deployment}; failing {Rows} sequences", _label, held.Count);
                    foreach (var s in held) s.Complete(new FailedEvent("the engine failed while generating: " + e.Message));
                    ResetBatch();
                }
            }
        }
        finally
        {
            ResetBatch();
            _batch.Dispose();
            _stopped.TrySetResult();
        }
    }

    /// <summary>Whether any running row still decodes (rows that ended at their last step leave at the next).</summary>
    private bool Decoding() => _batch.Sequences.Any(s => !_finished.Contains(s) && !s.IsCancelled);

    private void Prefill(int tokens)
    {
        var started = Stopwatch.GetTimestamp();
        using var prefill = _batch.Prefill(tokens);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _budget.ObservePrefill(prefill.Tokens, seconds);
        EngineMetrics.PromptTokens.WithLabels(_label).Inc(prefill.Tokens);
        EngineMetrics.StepSeconds.WithLabels(_label, "prefill").Observe(seconds);

        var sampling = Stopwatch.GetTimestamp();
        var (logits, logprobs) = (new float[_deployment.Vocab], new float[_deployment.Vocab]);
        var joining = new List<int>();
        for (var j = 0; j < prefill.Rows.Count; j++)
        {
            var (sequence, step, row, offset) = prefill.Rows[j];
            if (sequence.WantsPromptLogprobs) sequence.Emit(PromptLogprobs(sequence, step, row, offset, logits, logprobs));
            EngineMetrics.TimeToFirstToken.WithLabels(_label).Observe(Stopwatch.GetElapsedTime(sequence.EnqueuedTimestamp).TotalSeconds);
            if (sequence.MaxNewTokens == 0)
            {
                sequence.Complete(new FinishedEvent("length"));
                continue;
            }
            Combine(sequence, step, row, offset + sequence.Prompt.Count - 1, logits, logprobs);
            if (Advance(sequence, logits, logprobs)) joining.Add(j);
        }
        EngineMetrics.EngineSeconds.WithLabels(_label, "sampling").Inc(Stopwatch.GetElapsedTime(sampling).TotalSeconds);
        _batch.Join(prefill, joining);
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(_batch.Sequences.Count);
    }

    private void DecodeStep()
    {
        var started = Stopwatch.GetTimestamp();
        var rows = _batch.Sequences;
        var step = _batch.Decode();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _budget.ObserveDecode(seconds);
        EngineMetrics.BatchSize.WithLabels(_label).Observe(rows.Count);
        EngineMetrics.StepSeconds.WithLabels(_label, "decode").Observe(seconds);

        var sampling = Stopwatch.GetTimestamp();
        var (logits, logprobs) = (new float[_deployment.Vocab], new float[_deployment.Vocab]);
        for (var i = 0; i < rows.Count; i++)
        {
            var sequence = rows[i];
            if (_finished.Contains(sequence) || sequence.IsCancelled) continue;
            Combine(sequence, step, i, 0, logits, logprobs);
            if (!Advance(sequence, logits, logprobs)) _finished.Add(sequence);
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
    private void Combine(Sequence sequence, StepLogits step, int row, int position, float[] logits, float[] logprobs)
    {
        _deployment.Kind.Combine(_deployment.Options, step.Base, step.Companions, row, position, sequence.Parameters, logits);
        UldLogits.LogSoftmax(logits, logprobs);
    }

    private PromptLogprobsEvent PromptLogprobs(Sequence sequence, StepLogits step, int row, int offset, float[] logits, float[] buffer)
    {
        var n = sequence.Prompt.Count;
        var values = new float?[n];
        var top = new (int, float)[n][];
        top[0] = [];
        for (var t = 1; t < n; t++)
        {
            var position = offset + t - 1; // the distribution at t − 1 predicts token t
            Combine(sequence, step, row, position, logits, buffer);
            values[t] = buffer[sequence.Prompt[t]];
            top[t] = UldLogits.Top(buffer, sequence.Parameters.TopLogprobs);
        }
        return new PromptLogprobsEvent(values, top);
    }

    private void DropFinishedRows()
    {
        var rows = _batch.Sequences;
        var prefilling = _batch.Prefilling;
        if (rows.Count == 0 && prefilling.Count == 0) return;
        foreach (var sequence in rows.Concat(prefilling).Where(s => s.IsCancelled && !_finished.Contains(s))) sequence.Complete(new FinishedEvent("cancelled"));
        var leaving = rows.Concat(prefilling).Where(s => _finished.Contains(s) || s.IsCancelled).ToHashSet();
        if (leaving.Count == 0) return;
        _batch.Remove(leaving);
        _finished.Clear();
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(_batch.Sequences.Count);
    }

    private void ResetBatch()
    {
        _batch.Clear();
        _finished.Clear();
        EngineMetrics.ActiveSequences.WithLabels(_label).Set(0);
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join(TimeSpan.FromSeconds(30));
    }
}
