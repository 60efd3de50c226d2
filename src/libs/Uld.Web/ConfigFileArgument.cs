using Microsoft.Extensions.Configuration;

namespace Uld.Web;

/// <summary>
/// <c>--config FILE</c>, which every server takes: its settings from a JSON file (LogitServer's deployments such as
/// models/deployments.json, the gateway's clusters and keys, the forget service's section), added after the host's
/// own sources (appsettings.json, the environment, the command line).
/// </summary>
public static class ConfigFileArgument
{
    /// <summary>The configuration key <c>--config</c> sets (the command-line source drops the dashes).</summary>
    public const string Key = "config";

    /// <summary>Adds the file <c>--config</c> names, if any; a missing file stops start-up with one line.</summary>
    public static void AddTo(ConfigurationManager configuration)
    {
        if (configuration[Key] is not { Length: > 0 } file) return;
        if (!File.Exists(file)) throw new StartupConfigurationException($"--config {file} does not exist.");
        configuration.AddJsonFile(Path.GetFullPath(file), optional: false);
    }
}
