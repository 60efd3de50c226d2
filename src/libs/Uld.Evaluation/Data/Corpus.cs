using System.Text.Json;
using Uld.Contracts;

namespace Uld.Evaluation.Data;

/// <summary>The record formats a corpus file may hold — one per file (docs/METHODS.md, *Your own data*).</summary>
public enum CorpusKind
{
    /// <summary><c>{"text": …}</c>: raw text, trained and scored on every token (chunked to the model's context).</summary>
    Text,
    /// <summary><c>{"question": …, "answer": …}</c>: rendered with the model's chat template, loss on the answer.</summary>
    QuestionAnswer,
    /// <summary><c>{"prompt": …, "completion": …}</c>: raw prompt, loss on the completion.</summary>
    Completion,
    /// <summary><c>{"messages": [{"role", "content"}…]}</c>: rendered with the chat template, loss on assistant turns.</summary>
    Chat,
}

/// <summary>One record of a corpus file, with the line it came from (for errors).</summary>
public abstract record CorpusRecord(int Line);

public sealed record TextRecord(int Line, string Text) : CorpusRecord(Line);

/// <param name="Subject">
/// Optional: who or what the record is about (TOFU: the author). ULD pairs a forget question with other answers about
/// the same subject; records without one count as one subject.
/// </param>
public sealed record QaRecord(int Line, string Question, string Answer, string? Subject = null) : CorpusRecord(Line);

public sealed record CompletionRecord(int Line, string Prompt, string Completion) : CorpusRecord(Line);

public sealed record ChatTurn(string Role, string Content);

public sealed record ChatRecord(int Line, IReadOnlyList<ChatTurn> Messages) : CorpusRecord(Line);

/// <summary>
/// A forget, retain or holdout corpus: the records of one JSON Lines file (or of a TOFU preset), all of one
/// <see cref="CorpusKind"/>. Loading refuses what would train on the wrong thing silently: a file mixing formats, a
/// record with fields of two formats, empty strings, unknown chat roles, a chat without an assistant turn.
/// </summary>
public sealed record Corpus(string Name, CorpusKind Kind, IReadOnlyList<CorpusRecord> Records, string? Sha256 = null)
{
    /// <summary>A record longer than this (in characters) is refused before tokenisation: nobody means a 4 MB "passage".</summary>
    public const int MaxRecordCharacters = 1 << 20;

    public static readonly IReadOnlySet<string> ChatRoles = new HashSet<string>(StringComparer.Ordinal) { "system", "developer", "user", "assistant" };

    public int Count => Records.Count;

    public IEnumerable<T> Of<T>() where T : CorpusRecord => Records.OfType<T>();

    /// <summary>The question/answer records of a TOFU selection, each with its author as subject.</summary>
    public static Corpus FromTofu(string name, IEnumerable<TofuRecord> records) => new(name, CorpusKind.QuestionAnswer, [.. QuestionAnswers(records)]);

    public static IReadOnlyList<QaRecord> QuestionAnswers(IEnumerable<TofuRecord> records) =>
        records.Select((r, i) => new QaRecord(i + 1, r.Question, r.Answer, r.Author.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();

    /// <exception cref="UserErrorException">The file is missing, empty, or a record is malformed (message names path and line).</exception>
    public static Corpus Load(string path)
    {
        if (!File.Exists(path)) throw new UserErrorException($"{path} does not exist.");
        var corpus = Read(path, File.ReadLines(path));
        return corpus with { Name = Path.GetFileName(path), Sha256 = Uld.Contracts.Models.FileHash.Sha256(path) };
    }

    /// <summary>
    /// The records of JSON Lines text that is not (yet) a file — e.g. a corpus sent inline in an HTTP request.
    /// <paramref name="source"/> names it in errors the way a path would (<c>source:line: …</c>).
    /// </summary>
    /// <exception cref="UserErrorException">No records, or a record is malformed (message names source and line).</exception>
    public static Corpus Read(string source, IEnumerable<string> lines)
    {
        var path = source;
        var records = new List<CorpusRecord>();
        CorpusKind? kind = null;
        var firstLine = 0;
        var number = 0;
        foreach (var line in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (line.Length > MaxRecordCharacters)
                throw new UserErrorException($"{path}:{number}: the record is {line.Length:N0} characters; split it into records of at most {MaxRecordCharacters:N0}.");
            var (recordKind, record) = Parse(line, path, number);
            if (kind is { } k && k != recordKind)
                throw new UserErrorException($"{path}:{number}: a {Describe(recordKind)} record in a file of {Describe(k)} records (line {firstLine}); one format per file.");
            if (kind is null) (kind, firstLine) = (recordKind, number);
            records.Add(record);
        }
        if (kind is null) throw new UserErrorException($"{path} holds no records (JSON Lines: one JSON object per line).");
        return new Corpus(source, kind.Value, records);
    }

    public static string Describe(CorpusKind kind) => kind switch
    {
        CorpusKind.Text => "text",
        CorpusKind.QuestionAnswer => "question/answer",
        CorpusKind.Completion => "prompt/completion",
        _ => "messages",
    };

    private static (CorpusKind, CorpusRecord) Parse(string line, string path, int number)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(line);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new UserErrorException($"{path}:{number}: not JSON ({e.Message}).");
        }
        if (root.ValueKind != JsonValueKind.Object) throw new UserErrorException($"{path}:{number}: each line must be a JSON object.");
        var formats = new List<CorpusKind>();
        if (root.TryGetProperty("text", out _)) formats.Add(CorpusKind.Text);
        if (root.TryGetProperty("question", out _) || root.TryGetProperty("answer", out _)) formats.Add(CorpusKind.QuestionAnswer);
        if (root.TryGetProperty("prompt", out _) || root.TryGetProperty("completion", out _)) formats.Add(CorpusKind.Completion);
        if (root.TryGetProperty("messages", out _)) formats.Add(CorpusKind.Chat);
        if (formats.Count == 0)
            throw new UserErrorException($"{path}:{number}: no known fields; a record is {{\"text\"}}, {{\"question\", \"answer\"}}, {{\"prompt\", \"completion\"}} or {{\"messages\"}}.");
        if (formats.Count > 1)
            throw new UserErrorException($"{path}:{number}: fields of {string.Join(" and ", formats.Select(Describe))} records in one record; a record has one format.");
        string Text(string field)
        {
            if (!root.TryGetProperty(field, out var value)) throw new UserErrorException($"{path}:{number}: \"{field}\" is missing.");
            if (value.ValueKind != JsonValueKind.String) throw new UserErrorException($"{path}:{number}: \"{field}\" must be a string.");
            var s = value.GetString()!;
            return string.IsNullOrWhiteSpace(s) ? throw new UserErrorException($"{path}:{number}: \"{field}\" is empty.") : s;
        }
        string? Optional(string field) => root.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return formats[0] switch
        {
            CorpusKind.Text => (CorpusKind.Text, new TextRecord(number, Text("text"))),
            CorpusKind.QuestionAnswer => (CorpusKind.QuestionAnswer, new QaRecord(number, Text("question"), Text("answer"), Optional("subject"))),
            CorpusKind.Completion => (CorpusKind.Completion, new CompletionRecord(number, Text("prompt"), Text("completion"))),
            _ => (CorpusKind.Chat, new ChatRecord(number, Messages(root.GetProperty("messages"), path, number))),
        };
    }

    private static List<ChatTurn> Messages(JsonElement messages, string path, int number)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new UserErrorException($"{path}:{number}: \"messages\" must be a non-empty array.");
        var turns = new List<ChatTurn>();
        foreach (var (m, i) in messages.EnumerateArray().Select((m, i) => (m, i)))
        {
            var where = $"{path}:{number}: messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw new UserErrorException($"{where} needs a string \"role\".");
            if (!ChatRoles.Contains(role.GetString()!))
                throw new UserErrorException($"{where}: unknown role \"{role.GetString()}\"; use {string.Join(", ", ChatRoles)}.");
            if (!m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                throw new UserErrorException($"{where}: \"content\" must be a string (content parts are not supported in training data).");
            if (string.IsNullOrWhiteSpace(content.GetString())) throw new UserErrorException($"{where}: \"content\" is empty.");
            turns.Add(new ChatTurn(role.GetString()!, content.GetString()!));
        }
        return turns.Any(t => t.Role == "assistant") ? turns : throw new UserErrorException($"{path}:{number}: no assistant turn to train on.");
    }
}
