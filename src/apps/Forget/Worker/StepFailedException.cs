namespace Uld.Forget.Worker;

/// <summary>A step could not be completed for a reason to report on the request (it ends in state failed).</summary>
public sealed class StepFailedException(string message, Exception? inner = null) : Exception(message, inner);
