using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Uld.Tests.Support;

/// <summary>
/// The structured-output test set: schemas over every supported keyword, each bounded (string lengths, item counts,
/// closed objects) so that even a model choosing tokens at random finishes a value within a few hundred tokens. What
/// comes back is checked by JsonSchema.Net, a validator the server does not share code with.
/// </summary>
public static class StructuredOutputSchemas
{
    public static IReadOnlyList<(string Name, string Schema)> All { get; } =
    [
        ("person", """{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":12},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}"""),
        ("colour", """{"type":"object","properties":{"colour":{"enum":["red","green","blue"]},"bright":{"type":"boolean"}},"required":["colour","bright"],"additionalProperties":false}"""),
        ("scores", """{"type":"object","properties":{"scores":{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":4}},"required":["scores"],"additionalProperties":false}"""),
        ("nullable", """{"type":"object","properties":{"nickname":{"type":["string","null"],"maxLength":6},"id":{"const":7}},"required":["nickname","id"],"additionalProperties":false}"""),
        ("nested", """{"type":"object","properties":{"book":{"type":"object","properties":{"title":{"type":"string","maxLength":10},"year":{"type":"integer"}},"required":["title","year"],"additionalProperties":false},"tags":{"type":"array","items":{"type":"string","maxLength":5},"maxItems":3}},"required":["book","tags"],"additionalProperties":false}"""),
        ("either", """{"anyOf":[{"type":"object","properties":{"ok":{"const":true},"value":{"type":"integer"}},"required":["ok","value"],"additionalProperties":false},{"type":"object","properties":{"ok":{"const":false},"error":{"type":"string","maxLength":8}},"required":["ok","error"],"additionalProperties":false}]}"""),
        ("optional", """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"},"c":{"type":"null"}},"required":["a"],"additionalProperties":false}"""),
        ("matrix", """{"type":"object","properties":{"rows":{"type":"array","items":{"type":"array","items":{"enum":[0,1]},"minItems":2,"maxItems":2},"minItems":1,"maxItems":2}},"required":["rows"],"additionalProperties":false}"""),
        ("answer", """{"type":"object","title":"Answer","description":"a graded answer","properties":{"grade":{"enum":["A","B","C",null]},"comment":{"type":"string","maxLength":16,"description":"why"}},"required":["grade","comment"],"additionalProperties":false}"""),
    ];

    /// <summary>Null when <paramref name="text"/> parses and validates against <paramref name="schema"/>; otherwise why not.</summary>
    public static string? Problem(string schema, string text)
    {
        JsonElement instance;
        try
        {
            // JsonNode refuses duplicate keys, which JsonDocument would let through.
            JsonNode.Parse(text);
            instance = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException e)
        {
            return $"does not parse: {e.Message}: {text}";
        }
        var result = JsonSchema.FromText(schema).Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid ? null : $"does not validate: {text}: {string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}")))}";
    }
}
