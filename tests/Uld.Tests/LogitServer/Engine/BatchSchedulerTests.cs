using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Engine;

/// <summary>The committed TOFU-mini target as a plain deployment and with its ULD assistant, loaded once.</summary>
public sealed class EngineDeployments : IDisposable
{
    private static readonly LogitServerOptions Settings = new()
    {
        Deployments =
        [
            new DeploymentOptions { Name = "plain", Kind = "Plain", Model = RepositoryModels.Target },
            new DeploymentOptions { Name = "uld", Kind = "Uld", Base = RepositoryModels.Target, Assistant = RepositoryModels.UldAssistant, AlphaMin = 0 },
            new DeploymentOptions { Name = "assistant", Kind = "Plain", Model = RepositoryModels.UldAssistant },
            new DeploymentOptions { Name = "plain-in-place", Kind = "Plain", Model = ServingGraphCopies.Target },
            // stories260K and its 2-layer truncation both have serving graphs: a ULD pair on two slot caches.
            new DeploymentOptions { Name = "uld-in-place", Kind = "Uld", Base = Stories260KModels.BaseDirectory, Assistant = Stories260KModels.AssistantDirectory, AlphaMin = 0 },
        ],
    };

    private readonly DeploymentRegistry _registry = new(Options.Create(Settings), Plan, NullLogger<DeploymentRegistry>.Instance);

    public static ThreadingPlan Plan { get; } = ThreadingPlan.For(Settings, Environment.ProcessorCount);

    public Deployment Plain => _registry.All.Single(d => d.Name == "plain");
    /// <summary>The same target with its serving graph: the in-place slot cache (<see cref="SlotBatch"/>).</summary>
    public Deployment PlainInPlace => _registry.All.Single(d => d.Name == "plain-in-place");
    public Deployment Named(string name) => _registry.All.Single(d => d.Name == name);
    public Deployment Uld => _registry.All.Single(d => d.Name == "uld");
    /// <summary>The ULD assistant served on its own: it rambles without ever sampling EOS, so a row can be cancelled mid-way.</summary>
    public Deployment Assistant => _registry.All.Single(d => d.Name == "assistant");

    public void Dispose() => _registry.Dispose();
}

/// <summary>
/// <see cref="BatchScheduler"/> driven directly: requests admitted into a running batch, left padding, rows that finish
/// or are cancelled leaving it, and KV caches of different lengths merged — each row must decode exactly as it would
/// alone (greedy, so token for token). Tests taking a deployment name run on both caches: "plain" (model.onnx,
/// concatenated) and "plain-in-place" (the serving graph's slots).
/// </summary>
public sealed class BatchSchedulerTests(EngineDeployments deployments) : IClassFixture<EngineDeployments>
{
    private static readonly string[] Prompts =
    [
        "Question: Who is the author of the novel?\nAnswer:",
        "Question: Where was she born?\nAnswer:",
        "Question: What genre does the writer work in, and which awards has the writer received over a long career?\nAnswer:",
        "Question: Name a book.\nAnswer:",
    ];

    private BatchScheduler Scheduler(Deployment deployment, int maxBatch = 8, int maxQueued = 16, double prefillShare = 1.0, int minChunk = 16, bool prefixCaching = true) =>
        new(deployment, new LogitServerOptions { MaxBatchSize = maxBatch, MaxQueuedRequests = maxQueued, PrefillTimeShare = prefillShare, MinPrefillChunkTokens = minChunk, PrefixCaching = prefixCaching },
            EngineDeployments.Plan, NullLogger.Instance);

    /// <summary>A prompt of about 150 tokens: long enough to take many chunks of <see cref="ChunkTokens"/>.</summary>
    private static readonly string LongPrompt = "Question: " + string.Join(" ", Enumerable.Repeat("Tell me about the author's books, awards, family and the places the author lived.", 8)) + "\nAnswer:";
    private const int ChunkTokens = 8;

    private static Sequence Greedy(Deployment deployment, string prompt, int maxTokens, double alpha = 0) =>
        new(deployment.Tokenizer.Encode(prompt, addBos: true), new SamplingParameters(SamplingSettings.Greedy, alpha, deployment.CompanionModels.Count > 0 ? 0.1 : 0, 0), maxTokens);

    /// <summary>What greedy decoding of a plain deployment gives for one prompt on its own (no batching, no padding).</summary>
    private List<int> Alone(string prompt, int maxTokens, Deployment? deployment = null)
    {
        var d = deployment ?? deployments.Plain;
        return GreedyDecoder.Generate(d.BaseModel, d.Tokenizer.Encode(prompt, addBos: true), maxTokens, d.EosId);
    }

    private static async Task<(List<int> Tokens, string Reason)> Collect(Sequence sequence, Action<int>? onToken = null)
    {
        var tokens = new List<int>();
        await foreach (var e in sequence.Events.ReadAllAsync())
        {
            switch (e)
            {
                case TokenEvent t:
                    tokens.Add(t.Token);
                    onToken?.Invoke(tokens.Count);
                    break;
                case FinishedEvent f:
                    return (tokens, f.Reason);
                case FailedEvent f:
                    throw new Xunit.Sdk.XunitException($"the engine failed: {f.Message}");
            }
        }
        throw new Xunit.Sdk.XunitException("the sequence ended without a FinishedEvent");
    }

    private static string ReasonFor(List<int> alone, int maxTokens) => alone.Count < maxTokens ? "stop" : "length";

    [Theory]
    [InlineData("plain")]
    [InlineData("plain-in-place")]
    public async Task Identical_prompts_admitted_together_each_decode_as_the_prompt_would_alone(string deployment)
    {
        // In place, the copies after the first take its cached positions instead of a prefill of their own (n > 1).
        var d = deployments.Named(deployment);
        using var scheduler = Scheduler(d);
        var sequences = new[] { Prompts[0], Prompts[1], Prompts[0], Prompts[0] }.Select(p => Greedy(d, p, 10)).ToList();
        Assert.All(sequences, s => Assert.True(scheduler.TryEnqueue(s)));
        var results = await Task.WhenAll(sequences.Select(s => Collect(s)));
        var (first, second) = (Alone(Prompts[0], 10), Alone(Prompts[1], 10));
        Assert.Equal([first, second, first, first], results.Select(r => r.Tokens));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("plain-in-place")]
    public async Task Prompts_of_different_lengths_admitted_together_decode_as_they_would_alone(string deployment)
    {
        var d = deployments.Named(deployment);
        Assert.Equal(deployment == "plain-in-place", d.ServingModel is not null);
        using var scheduler = Scheduler(d);
        var sequences = Prompts.Select(p => Greedy(d, p, 12)).ToList();
        Assert.All(sequences, s => Assert.True(scheduler.TryEnqueue(s)));
        var results = await Task.WhenAll(sequences.Select(s => Collect(s)));
        for (var i = 0; i < Prompts.Length; i++)
        {
            var alone = Alone(Prompts[i], 12);
            Assert.Equal(alone, results[i].Tokens);
            Assert.Equal(ReasonFor(alone, 12), results[i].Reason);
        }
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("plain-in-place")]
    public async Task Newcomers_with_longer_and_shorter_caches_merge_into_a_running_batch(string deployment)
    {
        var d = deployments.Named(deployment);
        using var scheduler = Scheduler(d);
        var running = Greedy(d, Prompts[1], 24);
        var joined = new TaskCompletionSource();
        var newcomers = new[] { Greedy(d, Prompts[2], 16), Greedy(d, Prompts[3], 16) };
        Assert.True(scheduler.TryEnqueue(running));
        // After 4 tokens the running row's cache holds prompt + 4 positions: the long newcomer's prompt alone is longer,
        // the short one's shorter, so the merge pads on both sides of the batch.
        var first = Collect(running, n =>
        {
            if (n != 4) return;
            foreach (var s in newcomers) Assert.True(scheduler.TryEnqueue(s));
            joined.SetResult();
        });
        var (tokens, reason) = await first;
        Assert.True(joined.Task.IsCompleted, "the running sequence stopped before the newcomers were sent");
        var alone = Alone(Prompts[1], 24);
        Assert.Equal(alone, tokens);
        Assert.Equal(ReasonFor(alone, 24), reason);
        foreach (var (sequence, prompt) in newcomers.Zip(new[] { Prompts[2], Prompts[3] }))
        {
            var result = await Collect(sequence);
            Assert.Equal(Alone(prompt, 16), result.Tokens);
        }
    }

    [Theory]
    [InlineData(1e-9)] // every chunk the minimum: the running row decodes between each
    [InlineData(0.0)] // chunking off: the prompt runs whole
    public async Task A_long_prompt_arriving_during_a_running_stream_is_prefilled_in_chunks_between_its_steps(double share)
    {
        var d = deployments.PlainInPlace;
        var longTokens = d.Tokenizer.Encode(LongPrompt, addBos: true).Count;
        Assert.InRange(longTokens, 120, 400); // the premise: many chunks, within the context
        // Enough to outlast the prompt even when the reader that sends it lags the scheduler by many tokens.
        var runningTokens = 64 + longTokens / ChunkTokens;
        List<int> runningAlone;
        using (var alone = Scheduler(d))
        {
            var reference = NoEos(d, Prompts[1], runningTokens);
            Assert.True(alone.TryEnqueue(reference));
            runningAlone = (await Collect(reference)).Tokens;
        }
        Assert.Equal(runningTokens, runningAlone.Count);

        using var scheduler = Scheduler(d, prefillShare: share, minChunk: ChunkTokens);
        var running = NoEos(d, Prompts[1], runningTokens);
        var longOne = Greedy(d, LongPrompt, 12);
        var (before, during) = (-1, -1);
        var sent = new TaskCompletionSource();
        Assert.True(scheduler.TryEnqueue(running));
        var runningResult = Collect(running, n =>
        {
            if (n != 2) return;
            before = running.Generated;
            Assert.True(scheduler.TryEnqueue(longOne));
            sent.SetResult();
        });
        await sent.Task;
        var longResult = await Collect(longOne, n => { if (n == 1) during = running.Generated; });

        Assert.Equal(Alone(LongPrompt, 12), longResult.Tokens);
        Assert.Equal(runningAlone, (await runningResult).Tokens);
        // Chunked: one decode step of the running row after each chunk but the last (which gives the long prompt its
        // token), less a little for a prefix the prompt may share with the running one. Whole, the running row may only
        // have gone on by the steps its reader lagged behind (4 here).
        if (share > 0) Assert.InRange(during - before, longTokens / ChunkTokens - 3, runningTokens);
    }

    private static double CachedPromptTokens(Deployment d) => EngineMetrics.CachedPromptTokens.WithLabels(d.Name).Value;

    private static Sequence GreedyIds(Deployment deployment, IReadOnlyList<int> prompt, int maxTokens) =>
        new(prompt, new SamplingParameters(SamplingSettings.Greedy, 0, 0, 0), maxTokens);

    /// <summary>Greedy decoding of token ids alone, on the same target's model.onnx.</summary>
    private List<int> AloneIds(IReadOnlyList<int> prompt, int maxTokens) => GreedyDecoder.Generate(deployments.Plain.BaseModel, prompt, maxTokens, deployments.Plain.EosId);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_next_turn_of_a_conversation_keeps_what_the_last_turn_left_in_its_slot(bool prefixCaching)
    {
        var d = deployments.PlainInPlace;
        using var scheduler = Scheduler(d, prefixCaching: prefixCaching);
        var first = Greedy(d, Prompts[2], 12);
        Assert.True(scheduler.TryEnqueue(first));
        var answer = (await Collect(first)).Tokens;
        // The next turn sends the whole conversation again: the first prompt, the answer, a new question.
        IReadOnlyList<int> next = [.. first.Prompt, .. answer, .. d.Tokenizer.Encode("\nQuestion: Where was she born?\nAnswer:", addBos: false)];
        var before = CachedPromptTokens(d);
        var second = GreedyIds(d, next, 10);
        Assert.True(scheduler.TryEnqueue(second));
        Assert.Equal(AloneIds(next, 10), (await Collect(second)).Tokens);
        // Everything the slot computed: the prompt and every answer token but the last, which was sampled, never fed.
        Assert.Equal(prefixCaching ? first.Prompt.Count + answer.Count - 1 : 0, CachedPromptTokens(d) - before);
    }

    [Fact]
    public async Task A_uld_pair_in_place_serves_the_next_turn_from_both_caches_as_it_would_without_them()
    {
        // Base and assistant each keep their slot cache: the next turn takes the prefix from both, or the assistant's
        // logits would come from positions that are not there.
        var d = deployments.Named("uld-in-place");
        async Task<(List<int> Second, double Cached)> TwoTurns(bool prefixCaching)
        {
            using var scheduler = Scheduler(d, prefixCaching: prefixCaching);
            var first = Greedy(d, "Once upon a time", 16, alpha: 1);
            Assert.True(scheduler.TryEnqueue(first));
            var answer = (await Collect(first)).Tokens;
            var before = CachedPromptTokens(d);
            var second = new Sequence([.. first.Prompt, .. answer, .. d.Tokenizer.Encode(" Then", addBos: false)],
                new SamplingParameters(SamplingSettings.Greedy, 1, 0.1, 0), 16);
            Assert.True(scheduler.TryEnqueue(second));
            return ((await Collect(second)).Tokens, CachedPromptTokens(d) - before);
        }
        var cached = await TwoTurns(prefixCaching: true);
        var computed = await TwoTurns(prefixCaching: false);
        Assert.Equal(computed.Second, cached.Second);
        Assert.Equal((0, true), (computed.Cached, cached.Cached > 16));
    }

    [Fact]
    public async Task A_prompt_starting_with_a_running_sequences_prompt_copies_those_positions()
    {
        var d = deployments.PlainInPlace;
        using var scheduler = Scheduler(d);
        var running = NoEos(d, LongPrompt, 40);
        Assert.True(scheduler.TryEnqueue(running));
        await running.Events.WaitToReadAsync();
        IReadOnlyList<int> extended = [.. running.Prompt, .. d.Tokenizer.Encode(" Name one of them.\nAnswer:", addBos: false)];
        var before = CachedPromptTokens(d);
        var follower = GreedyIds(d, extended, 10);
        Assert.True(scheduler.TryEnqueue(follower));
        Assert.Equal(AloneIds(extended, 10), (await Collect(follower)).Tokens);
        Assert.InRange(CachedPromptTokens(d) - before, running.Prompt.Count, extended.Count - 1);
        await Collect(running);
    }

    [Fact]
    public async Task A_free_slot_a_decode_step_wrote_into_is_not_taken_for_its_old_prefix()
    {
        var d = deployments.PlainInPlace;
        using var scheduler = Scheduler(d);
        var shortLived = Greedy(d, Prompts[0], 3); // slot 0
        // Slot 1, sharing no more than BOS with the others: its steps run a padding row through slot 0 once that is free.
        var keeper = NoEos(d, "Tell me a story.", 400);
        Assert.True(scheduler.TryEnqueue(shortLived));
        Assert.True(scheduler.TryEnqueue(keeper));
        var keeperResult = Collect(keeper);
        await Collect(shortLived);
        var at = keeper.Generated;
        while (keeper.Generated < at + 3 && !keeperResult.IsCompleted) await Task.Delay(1);
        Assert.False(keeperResult.IsCompleted, "premise: the keeper still decodes after the short one left");

        IReadOnlyList<int> again = [.. shortLived.Prompt, .. d.Tokenizer.Encode(" Tell me more.", addBos: false)];
        var before = CachedPromptTokens(d);
        var late = GreedyIds(d, again, 10);
        Assert.True(scheduler.TryEnqueue(late));
        Assert.Equal(AloneIds(again, 10), (await Collect(late)).Tokens);
        Assert.Equal(0, CachedPromptTokens(d) - before);
        keeper.Cancel();
        await keeperResult;
    }

    /// <summary>Greedy with EOS biased away: a row that is still decoding however long another prompt takes.</summary>
    private static Sequence NoEos(Deployment deployment, string prompt, int maxTokens) =>
        new(deployment.Tokenizer.Encode(prompt, addBos: true),
            new SamplingParameters(SamplingSettings.Greedy with { LogitBias = new Dictionary<int, float> { [deployment.EosId ?? throw new InvalidOperationException("no EOS")] = -100 } }, 0, 0, 0), maxTokens);

    [Fact]
    public async Task A_sequence_cancelled_while_its_prompt_is_in_chunks_frees_its_slot_and_identical_prompts_still_decode()
    {
        var d = deployments.PlainInPlace;
        using var scheduler = Scheduler(d, maxBatch: 4, prefillShare: 1e-9, minChunk: ChunkTokens);
        var running = NoEos(d, Prompts[1], 60);
        Assert.True(scheduler.TryEnqueue(running));
        await running.Events.WaitToReadAsync();
        // Three identical long prompts: the first runs in chunks, the others wait to copy it; the first is cancelled
        // before its first token, so one of the copies takes over its prompt.
        var copies = Enumerable.Range(0, 3).Select(_ => Greedy(d, LongPrompt, 6)).ToList();
        copies[0].Cancel();
        Assert.All(copies, s => Assert.True(scheduler.TryEnqueue(s)));
        var results = await Task.WhenAll(copies.Select(s => Collect(s)));
        Assert.Equal("cancelled", results[0].Reason);
        var alone = Alone(LongPrompt, 6);
        Assert.Equal([alone, alone], results.Skip(1).Select(r => r.Tokens));
        await Collect(running);
        // Every slot was given back: four more sequences fit at once.
        var next = Enumerable.Range(0, 4).Select(i => Greedy(d, Prompts[i], 4)).ToList();
        Assert.All(next, s => Assert.True(scheduler.TryEnqueue(s)));
        var nextResults = await Task.WhenAll(next.Select(s => Collect(s)));
        Assert.Equal(Prompts.Select(p => Alone(p, 4)), nextResults.Select(r => r.Tokens));
    }

    [Fact]
    public async Task Finished_and_cancelled_rows_leave_the_batch_and_the_others_go_on_unchanged()
    {
        // The assistant alone never says EOS on this prompt, so the row to cancel is still running whenever the
        // reader's cancel arrives (greedy answers of the target end within ~100 tokens, possibly before that).
        var d = deployments.Assistant;
        var cancelledAlone = Alone(Prompts[0], 480, d);
        Assert.Equal(480, cancelledAlone.Count); // the premise

        using var scheduler = Scheduler(d);
        var shortLived = Greedy(d, Prompts[3], 2);
        var keeper = Greedy(d, Prompts[2], 24);
        var cancelled = Greedy(d, Prompts[0], 480);
        foreach (var s in new[] { shortLived, keeper, cancelled }) Assert.True(scheduler.TryEnqueue(s));

        var cancelledResult = Collect(cancelled, n => { if (n == 3) cancelled.Cancel(); });
        var (shortTokens, shortReason) = await Collect(shortLived);
        var (keeperTokens, keeperReason) = await Collect(keeper);
        var (cancelledTokens, cancelledReason) = await cancelledResult;

        var shortAlone = Alone(Prompts[3], 2, d);
        Assert.Equal(shortAlone, shortTokens);
        Assert.Equal(ReasonFor(shortAlone, 2), shortReason);
        var keeperAlone = Alone(Prompts[2], 24, d);
        Assert.Equal(keeperAlone, keeperTokens);
        Assert.Equal(ReasonFor(keeperAlone, 24), keeperReason);
        Assert.Equal("cancelled", cancelledReason);
        Assert.InRange(cancelledTokens.Count, 3, 479);
        Assert.Equal(cancelledAlone.Take(cancelledTokens.Count), cancelledTokens);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("plain-in-place")]
    public async Task A_full_batch_admits_no_one_and_a_request_cancelled_while_queued_never_runs(string deployment)
    {
        var d = deployments.Named(deployment);
        using var scheduler = Scheduler(d, maxBatch: 1);
        var running = Greedy(d, Prompts[2], 30);
        var gaveUp = Greedy(d, Prompts[0], 10);
        var waiting = Greedy(d, Prompts[3], 10);
        Assert.True(scheduler.TryEnqueue(running));
        await running.Events.WaitToReadAsync(); // the first token: the one slot is taken
        Assert.True(scheduler.TryEnqueue(gaveUp));
        gaveUp.Cancel();
        Assert.True(scheduler.TryEnqueue(waiting));

        var (gaveUpTokens, gaveUpReason) = await Collect(gaveUp);
        Assert.Empty(gaveUpTokens);
        Assert.Equal("cancelled", gaveUpReason);
        var waitingTokens = new List<int>();
        await foreach (var e in waiting.Events.ReadAllAsync())
        {
            if (e is not TokenEvent t) continue;
            if (waitingTokens.Count == 0)
            {
                // Admitted only after the running sequence was done: all of its events, the last one included, are written.
                var runningEvents = new List<SequenceEvent>();
                while (running.Events.TryRead(out var r)) runningEvents.Add(r);
                Assert.IsType<FinishedEvent>(runningEvents[^1]);
                Assert.True(running.Events.Completion.IsCompleted);
            }
            waitingTokens.Add(t.Token);
        }
        Assert.Equal(Alone(Prompts[3], 10), waitingTokens);
    }

    [Fact]
    public async Task A_draining_scheduler_refuses_new_requests()
    {
        using var scheduler = Scheduler(deployments.Plain);
        await scheduler.DrainAsync();
        Assert.False(scheduler.TryEnqueue(Greedy(deployments.Plain, Prompts[0], 4)));
    }

    [Theory]
    [InlineData("uld")]
    [InlineData("uld-in-place")]
    public async Task Uld_rows_merge_base_and_assistant_caches_alike(string deployment)
    {
        const double alpha = 1.0;
        var uld = deployments.Named(deployment);
        Assert.Equal(deployment == "uld-in-place", uld.ServingCompanions.Count == 1);
        List<int> aloneTokens;
        using (var solo = Scheduler(uld))
        {
            var alone = Greedy(uld, Prompts[1], 16, alpha);
            Assert.True(solo.TryEnqueue(alone));
            aloneTokens = (await Collect(alone)).Tokens;
        }

        using var scheduler = Scheduler(uld);
        var running = Greedy(uld, Prompts[1], 16, alpha);
        var newcomer = Greedy(uld, Prompts[2], 8, alpha);
        Assert.True(scheduler.TryEnqueue(running));
        var result = await Collect(running, n => { if (n == 3) Assert.True(scheduler.TryEnqueue(newcomer)); });
        await Collect(newcomer);
        Assert.Equal(aloneTokens, result.Tokens);
    }
}


