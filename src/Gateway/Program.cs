using Uld.Gateway;

try
{
    GatewayApp.Build(args).Run();
    return 0;
}
catch (InvalidOperationException e) when (e.Source is not null)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
