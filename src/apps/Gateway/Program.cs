using Microsoft.Extensions.Options;
using Uld.Gateway;
using Uld.Web;

if (GatewayUsage.Help.TryPrint(args) is { } help) return help;
if (HealthCommand.TryRun(args) is { } health) return health;

try
{
    GatewayApp.Build(args).Run();
    return 0;
}
catch (Exception e) when (e is InvalidOperationException or OptionsValidationException)
{
    // Configuration problems (unknown keys, no clusters, bad replica URLs, unknown models, malformed key hashes) end here.
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
