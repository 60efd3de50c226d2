using Uld.Forget;
using Uld.Web;

if (ForgetUsage.Help.TryPrint(args) is { } help) return help;
if (HealthCommand.TryRun(args) is { } health) return health;

try
{
    ForgetApp.Build(args).Run();
    return 0;
}
catch (InvalidOperationException e)
{
    // Configuration problems (unknown keys, missing files, no admin keys, bad replica URLs) end here.
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
