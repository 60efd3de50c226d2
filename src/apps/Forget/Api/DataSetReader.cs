using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Contracts.Forget;
using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Evaluation.Data;

namespace Uld.Forget.Api;

/// <summary>
/// A request's forget or retain data, read and checked the way the trainer and the evaluator will read it
/// (<see cref="Corpus"/>): an array of records, a string of JSON Lines, or <c>{"path": …}</c> under an allowed root.
/// A malformed record is a 400 naming the field and the line. The data is saved under the request's directory — inline
/// data as one record per line, a file byte for byte — and described by its sha256.
/// </summary>
public sealed class DataSetReader(AllowedDataPaths paths)
{
    private static readonly JsonSerializerOptions OneLine = new(Json.Options) { WriteIndented = false };

    /// <summary>The data's lines to save and a description of where they came from; checked, not yet saved.</summary>
    public sealed record Checked(string Source, Corpus Corpus, byte[] Bytes);

    public Checked Read(string param, JsonNode node)
    {
        switch (node)
        {
            case JsonArray records:
                if (records.Count == 0) throw OpenAiException.InvalidRequest($"'{param}' holds no records.", param, "empty_data");
                var lines = records.Select((r, i) => r is JsonObject o
                    ? o.ToJsonString(OneLine)
                    : throw OpenAiException.InvalidRequest($"{param}:{i + 1}: each record must be a JSON object.", param, "invalid_record")).ToList();
                return new Checked("inline", Parse(param, lines), System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
            case JsonValue value when value.TryGetValue<string>(out var text):
                return new Checked("inline", Parse(param, text.Split('\n').Select(l => l.TrimEnd('\r'))), System.Text.Encoding.UTF8.GetBytes(text));
            case JsonObject file:
                if (file.Count != 1 || !file.TryGetPropertyValue("path", out var pathNode) || pathNode is not JsonValue pathValue || !pathValue.TryGetValue<string>(out var path))
                    throw OpenAiException.InvalidRequest($"'{param}' as an object is {{\"path\": \"/absolute/file.jsonl\"}} and nothing else.", param, "invalid_data");
                var real = paths.Resolve(param, path);
                var bytes = File.ReadAllBytes(real);
                using (var reader = new StreamReader(new MemoryStream(bytes)))
                {
                    return new Checked(real, Parse(param, Lines(reader)), bytes);
                }
            default:
                throw OpenAiException.InvalidRequest($"'{param}' must be an array of records, a string of JSON Lines or {{\"path\": …}}.", param, "invalid_data");
        }
    }

    /// <summary>Saves the checked data atomically at <paramref name="destination"/> and describes it.</summary>
    public static DataSetView Save(Checked data, string destination)
    {
        AtomicFile.Write(destination, s => s.Write(data.Bytes));
        return new DataSetView(data.Source, Corpus.Describe(data.Corpus.Kind), data.Corpus.Count, FileHash.Sha256(destination));
    }

    private static Corpus Parse(string param, IEnumerable<string> lines)
    {
        try
        {
            return Corpus.Read(param, lines);
        }
        catch (UserErrorException e)
        {
            throw OpenAiException.InvalidRequest(e.Message, param, "invalid_record");
        }
    }

    private static IEnumerable<string> Lines(StreamReader reader)
    {
        while (reader.ReadLine() is { } line) yield return line;
    }
}
