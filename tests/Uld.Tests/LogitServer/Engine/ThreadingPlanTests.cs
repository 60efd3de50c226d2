using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;

namespace Uld.Tests.LogitServer.Engine;

/// <summary>The threading plan never gives sessions that run at the same moment more threads than cores.</summary>
public sealed class ThreadingPlanTests
{
    private static LogitServerOptions Options(params (string Kind, string? Fused)[] deployments) => new()
    {
        Deployments = deployments.Select((d, i) => new DeploymentOptions { Name = $"d{i}", Kind = d.Kind, Fused = d.Fused }).ToList(),
    };

    // Cores → (the pair's sessions run at once, threads per pair session, spinning): the values an operator reads in
    // the start-up log, written out rather than recomputed, so a change of the rule shows here.
    [Theory]
    [InlineData(1, false, 1, true)]
    [InlineData(2, true, 1, false)]
    [InlineData(3, true, 1, false)]
    [InlineData(8, true, 4, false)]
    [InlineData(64, true, 32, false)]
    public void A_two_session_pair_running_concurrently_splits_the_cores(int cores, bool concurrent, int threadsPerSession, bool spinning)
    {
        var plan = ThreadingPlan.For(Options(("Uld", null)), cores);
        Assert.Equal((concurrent, threadsPerSession, cores, spinning),
            (plan.ConcurrentUldSessions, plan.UldPairIntraOpThreads, plan.IntraOpThreads, plan.AllowSpinning));
        // Never more busy threads than cores at the same moment.
        Assert.True((concurrent ? 2 : 1) * threadsPerSession <= cores);
    }

    [Fact]
    public void One_plain_or_fused_deployment_owns_every_core_and_may_spin()
    {
        foreach (var only in new[] { ("Plain", (string?)null), ("Uld", "fused.onnx") })
        {
            var plan = ThreadingPlan.For(Options(only), 2);
            Assert.Equal(2, plan.IntraOpThreads);
            Assert.True(plan.AllowSpinning);
            Assert.Equal(1, plan.SchedulerThreads);
        }
    }

    [Fact]
    public void Several_deployments_do_not_spin_and_explicit_settings_win()
    {
        var plan = ThreadingPlan.For(Options(("Plain", null), ("Uld", "fused.onnx")), 4);
        Assert.False(plan.AllowSpinning);
        Assert.Equal(2, plan.SchedulerThreads);

        var options = Options(("Uld", null));
        (options.IntraOpThreads, options.ParallelUldModels, options.AllowSpinning) = (3, false, true);
        plan = ThreadingPlan.For(options, 4);
        Assert.False(plan.ConcurrentUldSessions);
        Assert.Equal(3, plan.UldPairIntraOpThreads);
        Assert.True(plan.AllowSpinning);
    }

    [Fact]
    public void Small_models_get_one_intra_op_thread_unless_the_operator_says_otherwise()
    {
        var options = Options(("Plain", null), ("Uld", null));
        var plan = ThreadingPlan.For(options, 4);
        var d = options.Deployments[0];
        Assert.Equal(1, plan.SessionFor(d, partOfPair: false, Uld.Inference.ExecutionProvider.Cpu, ThreadingPlan.SmallModelBytes - 1).IntraOpThreads);
        Assert.Equal(1, plan.SessionFor(d, partOfPair: true, Uld.Inference.ExecutionProvider.Cpu, 1 << 20).IntraOpThreads);
        Assert.Equal(4, plan.SessionFor(d, partOfPair: false, Uld.Inference.ExecutionProvider.Cpu, ThreadingPlan.SmallModelBytes).IntraOpThreads);
        Assert.Equal(2, plan.SessionFor(d, partOfPair: true, Uld.Inference.ExecutionProvider.Cpu, 438L << 20).IntraOpThreads);

        options.IntraOpThreads = 3;
        plan = ThreadingPlan.For(options, 4);
        Assert.Equal(3, plan.SessionFor(d, partOfPair: false, Uld.Inference.ExecutionProvider.Cpu, 1 << 20).IntraOpThreads);
    }
}
