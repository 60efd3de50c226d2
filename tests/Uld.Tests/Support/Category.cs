namespace Uld.Tests.Support;

/// <summary>
/// xunit trait names. <c>dotnet test --filter "Category!=Slow"</c> skips the TorchSharp-heavy and end-to-end tests for a
/// quick local run; CI runs everything.
/// </summary>
public static class Category
{
    public const string Name = "Category";
    /// <summary>Trains or unlearns with TorchSharp, or runs a whole stack end to end: seconds to minutes each.</summary>
    public const string Slow = "Slow";
}
