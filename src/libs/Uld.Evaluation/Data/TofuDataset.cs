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

    public static TofuSplitDefinition Load(string path) => Json.ReadFile<TofuSplitDefinition>(path, "TOFU split definition");
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
    public static IReadOnlyList<string> LoadRefusals(string directory)
    {
        var file = Path.Combine(directory, "idontknow.jsonl");
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
