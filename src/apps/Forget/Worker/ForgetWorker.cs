using Uld.Contracts.Forget;
using Uld.Forget.Configuration;
using Uld.Forget.Deploy;
using Uld.Forget.Gate;
using Uld.Forget.Store;

namespace Uld.Forget.Worker;

/// <summary>
/// Takes requests one at a time, in submission order, through training → gating → deploying (docs/FORGET-REQUESTS.md,
/// *Lifecycle*). Each state is committed before its step starts, so a service stopped at any point finds the request in
/// the state whose step was running and runs that step again (*Restart behaviour*): training resumes from the trainer's
/// checkpoint, gating starts over, deploying re-applies idempotently. A request leaves the worker only in a final state.
/// </summary>
public sealed class ForgetWorker(ForgetOptions options, ForgetRequestStore store, WorkSignal signal, TrainingStep training, GateStep gate, DeployStep deploy,
    TimeProvider clock, ILogger<ForgetWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // let the host finish starting
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = store.NextUnfinished();
            if (next is null)
            {
                try
                {
                    await signal.WaitAsync(options.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            try
            {
                await AdvanceAsync(next, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: the request keeps its committed state and the next start continues it.
                return;
            }
        }
    }

    /// <summary>Runs the request from its current state to a final one.</summary>
    private async Task AdvanceAsync(RequestRecord request, CancellationToken cancellationToken)
    {
        // A request found in a working state was interrupted (the worker moves a request on before anything else runs).
        var resumed = request.State != ForgetStates.Queued;
        try
        {
            if (!options.Deployments.ContainsKey(request.Deployment))
                throw new StepFailedException($"the deployment '{request.Deployment}' is no longer configured (Forget:Deployments).");
            while (!ForgetStates.IsFinal(request.State))
            {
                request = request.State switch
                {
                    ForgetStates.Queued => store.Update(request.Id, r => r with { State = ForgetStates.Training, Progress = 0, TrainingAttempts = 1 }),
                    ForgetStates.Training => await TrainAsync(request, resumed, cancellationToken),
                    ForgetStates.Gating => await GateAsync(request, resumed, cancellationToken),
                    ForgetStates.Deploying => await DeployAsync(request, resumed, cancellationToken),
                    _ => throw new InvalidOperationException($"unknown state '{request.State}'."),
                };
                resumed = false;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var message = e is StepFailedException or Uld.Contracts.UserErrorException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            if (e is not StepFailedException) logger.LogError(e, "Forget request {Id} failed in {State}", request.Id, request.State);
            store.Update(request.Id, r => r with { State = ForgetStates.Failed, Error = message }, message);
        }
    }

    private async Task<RequestRecord> TrainAsync(RequestRecord request, bool resumed, CancellationToken cancellationToken)
    {
        if (resumed)
        {
            request = store.Update(request.Id, r => r with { TrainingAttempts = r.TrainingAttempts + 1 },
                "restarted after the service stopped; training continues from the trainer's last checkpoint", recordUnchangedState: true);
        }
        var assistant = await training.RunAsync(request, cancellationToken);
        var detail = $"assistant trained ({assistant["steps"]} steps, calibrated α {assistant["calibrated_alpha"]})";
        return store.Update(request.Id, r => r with { State = ForgetStates.Gating, Progress = 100, Assistant = assistant }, detail);
    }

    private async Task<RequestRecord> GateAsync(RequestRecord request, bool resumed, CancellationToken cancellationToken)
    {
        if (resumed) request = store.Update(request.Id, r => r, "restarted after the service stopped; the gate runs again", recordUnchangedState: true);
        var result = await gate.RunAsync(request, cancellationToken);
        return result.Passed
            ? store.Update(request.Id, r => r with { State = ForgetStates.Deploying, Gate = result }, "gate passed")
            : store.Update(request.Id, r => r with { State = ForgetStates.Rejected, Gate = result, Error = string.Join("; ", result.Reasons()) },
                "gate failed: " + string.Join("; ", result.Reasons()));
    }

    private async Task<RequestRecord> DeployAsync(RequestRecord request, bool resumed, CancellationToken cancellationToken)
    {
        if (resumed) request = store.Update(request.Id, r => r, "restarted after the service stopped; the deployment is re-applied", recordUnchangedState: true);
        await deploy.RunAsync(request, cancellationToken);
        var replicas = options.ReplicasOf(request.Deployment).Count;
        return store.Update(request.Id, r => r with { State = ForgetStates.Deployed, LiveAt = clock.GetUtcNow() }, $"live on {replicas} replica{(replicas == 1 ? "" : "s")}");
    }
}
