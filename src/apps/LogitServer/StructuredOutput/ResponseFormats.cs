using System.Text.Json;
using System.Text.RegularExpressions;
using Uld.Contracts.OpenAi;
using Uld.Inference.Constraints;

namespace Uld.LogitServer.StructuredOutput;

/// <summary>
/// Chat's <c>response_format</c>, as OpenAI defines it: <c>{"type": "text"}</c> (no constraint), <c>{"type":
/// "json_object"}</c> (any JSON object) or <c>{"type": "json_schema", "json_schema": {"name", "schema", "strict",
/// "description"}}</c>. A schema outside the supported subset is a 400 naming the keyword (docs/DESIGN.md,
/// *Structured output*).
/// </summary>
public static partial class ResponseFormats
{
    public const string Field = "response_format";

    /// <summary>The grammar the output must follow, or null for free text.</summary>
    public static JsonGrammar? Read(JsonElement? format)
    {
        if (format is not { } value || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw Invalid("'response_format' must be an object with a string 'type' (text, json_object or json_schema).");
        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                return JsonGrammar.AnyObject;
            case "json_schema":
                return JsonSchemaFormat(value);
            default:
                throw Invalid($"Invalid value for 'response_format.type': '{type.GetString()}'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        }
    }

    private static JsonGrammar JsonSchemaFormat(JsonElement format)
    {
        if (!format.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object)
            throw Invalid("Missing required parameter: 'response_format.json_schema'.");
        if (!spec.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            throw Invalid("Missing required parameter: 'response_format.json_schema.name'.");
        if (!NamePattern().IsMatch(name.GetString()!))
            throw Invalid($"Invalid 'response_format.json_schema.name': '{name.GetString()}' must be 1 to 64 letters, digits, underscores or dashes.");
        if (spec.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            throw Invalid("Invalid type for 'response_format.json_schema.strict': expected a boolean.");
        if (!spec.TryGetProperty("schema", out var schema) || schema.ValueKind == JsonValueKind.Null)
            return new JsonGrammar(SchemaNode.AnyValue); // OpenAI: without a schema the model may answer any JSON
        try
        {
            return new JsonGrammar(JsonSchemaCompiler.Compile(schema));
        }
        catch (JsonSchemaException e)
        {
            throw Invalid($"Invalid schema for response_format '{name.GetString()}': {e.Message}");
        }
    }

    private static OpenAiException Invalid(string message) => OpenAiException.InvalidRequest(message, Field);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
