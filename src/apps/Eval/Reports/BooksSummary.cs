using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uld.Eval.Reports;

/// <summary>
/// The numbers of one books benchmark run (docs/METHODS.md, *Books benchmark*): bench/results/books.md is written from
/// them and books.json is them, so every number quoted elsewhere can be regenerated.
/// </summary>
public sealed record BooksSummary(
    CorpusNames Corpora,
    IReadOnlyList<BooksRow> Test,
    string? BestBaseline,
    IReadOnlyList<SweepPoint> Sweep,
    IReadOnlyList<SideBySide> Examples,
    IReadOnlyList<ValidationRow> Validation)
{
    // snake_case like every other results file; a method never measured has a spread of NaN, written as "NaN".
    private static readonly JsonSerializerOptions JsonOptions = new(Uld.Contracts.Json.SnakeCase) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

/// <summary>The test and validation forget corpora, and how many passages of each set were scored on the test set.</summary>
public sealed record CorpusNames(string TestForget, string? ValidationForget, string Retain, int ForgetPassages, int RetainPassages);

/// <summary>One test-table row: a method over its seeds (or the target / retain model, one run each), and its four bars on the means.</summary>
/// <param name="Config">the configuration chosen on validation; null for the target and retain models, "?" when no choice is recorded</param>
public sealed record BooksRow(string Method, string? Config, int Seeds, Spread ForgetVerbMem, Spread RetainVerbMem, Spread RetainRatio, Spread PrivLeak,
    Spread FluencyPpl, Spread FluencyRatio, Spread EmptyContinuations, BookBars.Verdicts Bars);

/// <summary>ULD seed 1 served at one fixed α.</summary>
public sealed record SweepPoint(double Alpha, double ForgetVerbMem, double RetainRatio, double? FluencyRatio, double? PrivLeak);

/// <summary>One forget passage and what each shown deployment wrote after its prefix.</summary>
public sealed record SideBySide(int Line, string Prefix, string Truth, IReadOnlyList<Written> Continuations);

public sealed record Written(string Deployment, string Continuation, double RougeL);

/// <summary>One configuration measured on the validation forget set; <paramref name="Chosen"/> = the one selection recorded.</summary>
public sealed record ValidationRow(CorpusSelection.Choice Numbers, bool Chosen);
