using Uld.Forget;

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
