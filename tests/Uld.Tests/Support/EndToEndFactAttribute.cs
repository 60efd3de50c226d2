namespace Uld.Tests.Support;

/// <summary>
/// A test of a whole stack that trains models while serving, minutes on a quiet machine and far longer on a busy one:
/// it runs where <c>ULD_END_TO_END=1</c> is set (e.g. <c>ULD_END_TO_END=1 dotnet test --filter ForgetEndToEndTests</c>)
/// and is skipped, saying so, everywhere else, so the default suite stays within its time budget.
/// </summary>
public sealed class EndToEndFactAttribute : FactAttribute
{
    public const string Variable = "ULD_END_TO_END";

    public EndToEndFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1") Skip = $"end-to-end run: set {Variable}=1 to run it";
    }
}
