namespace Uld.Trainer.Training;

/// <summary>
/// What a training loop actually ran: the epochs after every adjustment a method makes (ULD raises them to reach its
/// minimum step count), the examples one epoch visits, the steps reached and planned, and the wall time. Every manifest
/// records these from here (<see cref="Cli.RunManifest"/>), never from the options a command was given.
/// </summary>
/// <param name="Steps">The step reached; fewer than <paramref name="PlannedSteps"/> when stopped early.</param>
public sealed record RunRecord(int Epochs, int Examples, int StepsPerEpoch, int Steps, int PlannedSteps, TimeSpan Elapsed)
{
    public bool Finished => Steps == PlannedSteps;
}
