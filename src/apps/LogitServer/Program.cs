using Uld.LogitServer;
using Uld.LogitServer.Deployments;

try
{
    LogitServerApp.Build(args).Run();
    return 0;
}
catch (DeploymentConfigurationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
