using Uld.LogitServer;
using Uld.LogitServer.Deployments;
using Uld.Web;

if (LogitServerUsage.Help.TryPrint(args) is { } help) return help;
if (HealthCommand.TryRun(args) is { } health) return health;

try
{
    LogitServerApp.Build(args).Run();
    return 0;
}
catch (Exception e) when (e is DeploymentConfigurationException or StartupConfigurationException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
