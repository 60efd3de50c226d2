using Uld.Gateway;

try
{
    GatewayApp.Build(args).Run();
    return 0;
}
catch (InvalidOperationException e)
{
    // Configuration problems (no clusters, bad replica URLs, unknown variant models, malformed key hashes) end here.
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
