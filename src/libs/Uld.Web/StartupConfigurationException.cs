namespace Uld.Web;

/// <summary>A setting outside any one app's options section is wrong: start-up stops with one <c>error:</c> line.</summary>
public sealed class StartupConfigurationException(string message) : InvalidOperationException(message);
