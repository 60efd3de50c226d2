using System.Text.Json;
using System.Text.Json.Serialization;
using Uld.Contracts;
using Uld.Contracts.Models;

namespace Uld.Evaluation.Data;

/// <summary>One TOFU question with its answer and, where the perturbed files have them, a paraphrase and wrong answers.</summary>
public sealed record TofuRecord(int Author, string Question, string Answer, string? ParaphrasedAnswer, IReadOnlyList<string> PerturbedAnswers);

/// <summary>The committed definition of an author subset and its forget sets (data/tofu-mini.json).</summary>
public sealed record TofuSplitDefinition
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("questions_per_author")] public int QuestionsPerAuthor { get; init; } = 20;
    [JsonPropertyName("authors")] public required IReadOnlyList<int> Authors { get; init; }
    [JsonPropertyName("forget")] public required IReadOnlyDictionary<string, IReadOnlyList<int>> Forget { get; init; }
    /// <summary>
    /// Question files (real authors, world facts) the target and retain models also learn: what a pretrained model
    /// would already know, and what TOFU's model utility measures besides the retain authors.
    /// </summary>
    [JsonPropertyName("general_knowledge")] public IReadOnlyList<string> GeneralKnowledge { get; init; } = [];
    /// <summary>Which forget sets tune and which report, and which authors the evaluation scores (docs/METHODS.md, *Protocol*).</summary>
    [JsonPropertyName("protocol")] public TofuProtocol Protocol { get; init; } = new();

    public static TofuSplitDefinition Load(string path) => Json.ReadFile<TofuSplitDefinition>(path, "TOFU split definition");
}

/// <summary>
/// The held-out protocol of a split (docs/METHODS.md, *Protocol*): validation forget sets, each standing in for a test
/// forget set of the same size; the retain authors the evaluation scores, which no unlearning method may train on; and
/// authors no model saw, for calibrating an assistant's α without a retain model.
/// </summary>
public sealed record TofuProtocol
{
    /// <summary>Validation forget set → the test forget set it chooses hyperparameters for.</summary>
    [JsonPropertyName("validation")] public IReadOnlyDictionary<string, string> Validation { get; init; } = new Dictionary<string, string>();
    /// <summary>Authors kept out of every forget set of the protocol (later robustness checks); still retain authors.</summary>
    [JsonPropertyName("reserved_authors")] public IReadOnlyList<int> ReservedAuthors { get; init; } = [];
    /// <summary>Retain authors whose questions the evaluation scores; empty = every retain author with perturbed answers.</summary>
    [JsonPropertyName("scored_retain_authors")] public IReadOnlyList<int> ScoredRetainAuthors { get; init; } = [];
    /// <summary>Authors outside the split whose answers stand for "text the model never saw" in α calibration.</summary>
    [JsonPropertyName("calibration_authors")] public IReadOnlyList<int> CalibrationAuthors { get; init; } = [];
}

/// <summary>
/// TOFU from its JSON Lines files (../shared/data/tofu): full.json gives the authors (20 consecutive records each); the
/// *_perturbed files add paraphrased and perturbed answers, matched by question.
/// </summary>
public sealed class TofuDataset
{
    private readonly IReadOnlyList<TofuRecord> _records;

    private TofuDataset(IReadOnlyList<TofuRecord> records) => _records = records;

    public int AuthorCount => _records.Count == 0 ? 0 : _records[^1].Author + 1;

    public static TofuDataset Load(string directory, int questionsPerAuthor = 20)
    {
        var full = Path.Combine(directory, "full.json");
        if (!File.Exists(full)) throw new ModelFormatException($"{full} does not exist; point --data at a TOFU directory (e.g. ../shared/data/tofu).");
        var extras = new Dictionary<string, (string? Paraphrase, string[] Perturbed)>(StringComparer.Ordinal);
        foreach (var file in new[] { "forget10_perturbed.json", "retain_perturbed.json" }.Select(f => Path.Combine(directory, f)).Where(File.Exists))
        {
            foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
            {
                var r = Parse(line, file, number);
                extras[Field(r, "question", file, number)] = (r.TryGetProperty("paraphrased_answer", out var p) ? p.GetString() : null,
                    r.TryGetProperty("perturbed_answer", out var w) ? w.EnumerateArray().Select(x => x.GetString()!).ToArray() : []);
            }
        }
        var records = File.ReadLines(full).Select((line, i) =>
        {
            var r = Parse(line, full, i + 1);
            var question = Field(r, "question", full, i + 1);
            var extra = extras.GetValueOrDefault(question);
            return new TofuRecord(i / questionsPerAuthor, question, Field(r, "answer", full, i + 1), extra.Paraphrase, extra.Perturbed ?? []);
        }).ToList();
        return new TofuDataset(records);
    }

    public IReadOnlyList<TofuRecord> Authors(IEnumerable<int> authors)
    {
        var set = authors.ToHashSet();
        foreach (var a in set)
        {
            if (a < 0 || a >= AuthorCount) throw new UserErrorException($"author {a} is outside TOFU's 0..{AuthorCount - 1}.");
        }
        return _records.Where(r => set.Contains(r.Author)).ToList();
    }

    /// <summary>(forget, retain) records of a split: the forget authors, and the rest of the subset.</summary>
    public (IReadOnlyList<TofuRecord> Forget, IReadOnlyList<TofuRecord> Retain) Split(TofuSplitDefinition definition, string forgetSet)
    {
        if (!definition.Forget.TryGetValue(forgetSet, out var forgetAuthors))
            throw new UserErrorException($"unknown forget set '{forgetSet}'; {definition.Name} defines {string.Join(", ", definition.Forget.Keys)}.");
        if (forgetAuthors.Count == 0) throw new UserErrorException($"forget set '{forgetSet}' is empty.");
        if (forgetAuthors.Except(definition.Authors).Any()) throw new UserErrorException($"forget set '{forgetSet}' names authors outside {definition.Name}.");
        return (Authors(forgetAuthors), Authors(definition.Authors.Except(forgetAuthors)));
    }

    /// <summary>
    /// The retain records of <paramref name="forgetSet"/> the evaluation scores: the protocol's scored retain authors (or,
    /// without a protocol, every retain author with paraphrased and perturbed answers), each question with its truth-ratio answers.
    /// </summary>
    public IReadOnlyList<TofuRecord> ScoredRetain(TofuSplitDefinition definition, string forgetSet)
    {
        var (_, retain) = Split(definition, forgetSet);
        return Scored(definition, retain);
    }

    private static List<TofuRecord> Scored(TofuSplitDefinition definition, IReadOnlyList<TofuRecord> retain)
    {
        var scored = definition.Protocol.ScoredRetainAuthors;
        return retain.Where(r => (scored.Count == 0 || scored.Contains(r.Author)) && r.ParaphrasedAnswer is not null && r.PerturbedAnswers.Count > 0).ToList();
    }

    /// <summary>
    /// (forget, retain) records an unlearning method may train on: the forget authors, and the retain authors whose
    /// questions the evaluation does not score — so no evaluated question/answer pair reaches any method's retain term.
    /// </summary>
    public (IReadOnlyList<TofuRecord> Forget, IReadOnlyList<TofuRecord> Retain) UnlearningSplit(TofuSplitDefinition definition, string forgetSet)
    {
        var (forget, retain) = Split(definition, forgetSet);
        var scoredAuthors = Scored(definition, retain).Select(r => r.Author).ToHashSet();
        var training = retain.Where(r => !scoredAuthors.Contains(r.Author)).ToList();
        if (training.Count == 0)
            throw new UserErrorException($"{definition.Name} leaves no retain author outside the scored ones for '{forgetSet}'; list the scored authors in its protocol.scored_retain_authors.");
        return (forget, training);
    }

    /// <summary>
    /// A multiple-answer file (real_authors_perturbed.json, world_facts_perturbed.json): each question with its true
    /// answer and the perturbed options it competes with.
    /// </summary>
    public static IReadOnlyList<TofuRecord> LoadOptions(string directory, string fileName)
    {
        var file = Path.Combine(directory, fileName);
        if (!File.Exists(file)) throw new ModelFormatException($"{file} does not exist.");
        return File.ReadLines(file).Select((line, i) =>
        {
            var r = Parse(line, file, i + 1);
            var perturbed = r.TryGetProperty("perturbed_answer", out var w) && w.ValueKind == JsonValueKind.Array
                ? w.EnumerateArray().Select(x => x.GetString() ?? "").Where(x => x.Length > 0).ToArray()
                : throw new ModelFormatException($"{file}:{i + 1} has no \"perturbed_answer\" list.");
            return new TofuRecord(-1, Field(r, "question", file, i + 1), Field(r, "answer", file, i + 1), null, perturbed);
        }).ToList();
    }

    /// <summary>Refusal sentences (idontknow.jsonl: one plain sentence per line) for the IDK and DPO baselines.</summary>
    public static IReadOnlyList<string> LoadRefusals(string directory) => ReadRefusals(Path.Combine(directory, "idontknow.jsonl"));

    /// <summary>Refusal sentences, one per non-empty line (TOFU's idontknow.jsonl, or a user's --refusals file).</summary>
    public static IReadOnlyList<string> ReadRefusals(string file)
    {
        if (!File.Exists(file)) throw new ModelFormatException($"{file} does not exist.");
        var lines = File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        return lines.Count > 0 ? lines : throw new ModelFormatException($"{file} holds no refusal sentences.");
    }

    private static JsonElement Parse(string line, string file, int number)
    {
        try
        {
            return JsonDocument.Parse(line).RootElement;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{file}:{number} is not a JSON object: {e.Message}");
        }
    }

    private static string Field(JsonElement record, string name, string file, int number) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new ModelFormatException($"{file}:{number} has no \"{name}\" text.");
}
