namespace Uld.LogitServer.Lifecycle;

/// <summary>Section <c>Drain</c>: how long a stopping replica lets admitted requests run.</summary>
public sealed class DrainOptions
{
    public const string Section = "Drain";

    /// <summary>
    /// Seconds between SIGTERM and the end of the process's grace (HostOptions.ShutdownTimeout): running generations
    /// and streams finish within it, whatever is left is cut. A Kubernetes pod's terminationGracePeriodSeconds must be
    /// longer.
    /// </summary>
    public int GracePeriodSeconds { get; set; } = 30;
}
