using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Uld.Inference.Constraints;

/// <summary>A schema uses a keyword (or a value of one) that constrained decoding does not implement.</summary>
public sealed class JsonSchemaException(string keyword, string message) : Exception(message)
{
    /// <summary>The offending keyword, e.g. <c>pattern</c>.</summary>
    public string Keyword { get; } = keyword;
}

/// <summary>
/// Compiles a JSON Schema into the <see cref="SchemaNode"/> tree the automaton walks. Supported (docs/DESIGN.md,
/// *Structured output*): type (one or a list), properties, required, additionalProperties (true/false), items,
/// minItems/maxItems, minLength/maxLength, enum, const, anyOf, and the annotations that constrain nothing (title,
/// description, $schema, …). Anything else is refused naming the keyword, since a keyword silently ignored would let
/// through output the client's validator rejects.
/// </summary>
public static class JsonSchemaCompiler
{
    public const int MaxProperties = 64;
    public const int MaxDepth = 32;
    /// <summary>
    /// Bounds on what one request can make the scheduler's thread walk: alternatives of an anyOf, values of an enum,
    /// schemas in all. Far above what structured-output schemas use; a schema past them is refused, not slowed down on.
    /// </summary>
    public const int MaxAlternatives = 32;
    public const int MaxEnumValues = 1024;
    public const int MaxSchemas = 2048;

    private static readonly HashSet<string> Annotations =
        ["title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly"];

    public static readonly IReadOnlyList<string> SupportedKeywords =
        ["type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "enum", "const", "anyOf"];

    /// <exception cref="JsonSchemaException">The schema is malformed or uses an unsupported keyword.</exception>
    public static SchemaNode Compile(JsonElement schema) => Compile(schema, "", 0, new int[1]);

    private static SchemaNode Compile(JsonElement schema, string path, int depth, int[] count)
    {
        if (depth > MaxDepth) throw new JsonSchemaException("properties", $"the schema nests deeper than {MaxDepth} levels{At(path)}.");
        if (++count[0] > MaxSchemas) throw new JsonSchemaException("properties", $"the schema has more than {MaxSchemas} subschemas (properties, items and anyOf alternatives in all).");
        if (schema.ValueKind == JsonValueKind.True) return SchemaNode.AnyValue;
        if (schema.ValueKind != JsonValueKind.Object)
            throw new JsonSchemaException("type", $"a schema must be a JSON object (or true){At(path)}; got {Kind(schema)}.");

        foreach (var property in schema.EnumerateObject())
        {
            if (!Annotations.Contains(property.Name) && !SupportedKeywords.Contains(property.Name))
            {
                throw new JsonSchemaException(property.Name,
                    $"JSON Schema keyword '{property.Name}'{At(path)} is not supported; supported keywords: {string.Join(", ", SupportedKeywords)}.");
            }
        }

        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            var constraining = schema.EnumerateObject().Select(p => p.Name).Where(n => n != "anyOf" && !Annotations.Contains(n)).ToList();
            if (constraining.Count > 0)
                throw new JsonSchemaException(constraining[0], $"'{constraining[0]}' beside 'anyOf'{At(path)} is not supported; put it inside each alternative.");
            if (anyOf.ValueKind != JsonValueKind.Array || anyOf.GetArrayLength() is 0 or > MaxAlternatives)
                throw new JsonSchemaException("anyOf", $"'anyOf'{At(path)} must be an array of 1 to {MaxAlternatives} schemas.");
            return new SchemaNode { AnyOf = anyOf.EnumerateArray().Select((s, i) => Compile(s, $"{path}anyOf[{i}].", depth + 1, count)).ToList() };
        }

        var types = Types(schema, path);
        var literals = Literals(schema, path, types);
        var node = new SchemaNode
        {
            Types = types,
            Literals = literals,
            MinItems = Count(schema, "minItems", path, 0),
            MaxItems = Count(schema, "maxItems", path, int.MaxValue),
            MinLength = Count(schema, "minLength", path, 0),
            MaxLength = Count(schema, "maxLength", path, int.MaxValue),
            Items = schema.TryGetProperty("items", out var items) ? Compile(items, path + "items.", depth + 1, count) : null,
        };
        if (node.MinItems > node.MaxItems) throw new JsonSchemaException("minItems", $"'minItems' is above 'maxItems'{At(path)}.");
        if (node.MinLength > node.MaxLength) throw new JsonSchemaException("minLength", $"'minLength' is above 'maxLength'{At(path)}.");
        return WithProperties(node, schema, path, depth, count);
    }

    private static SchemaNode WithProperties(SchemaNode node, JsonElement schema, string path, int depth, int[] count)
    {
        var additional = true;
        if (schema.TryGetProperty("additionalProperties", out var extra))
        {
            additional = extra.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new JsonSchemaException("additionalProperties", $"'additionalProperties'{At(path)} is supported as true or false only."),
            };
        }
        var properties = new List<PropertySchema>();
        if (schema.TryGetProperty("properties", out var declared))
        {
            if (declared.ValueKind != JsonValueKind.Object) throw new JsonSchemaException("properties", $"'properties'{At(path)} must be an object.");
            foreach (var p in declared.EnumerateObject())
                properties.Add(new PropertySchema(p.Name, Encoding.UTF8.GetBytes(JsonText.String(p.Name)), Compile(p.Value, $"{path}properties.{p.Name}.", depth + 1, count)));
        }
        ulong required = 0;
        if (schema.TryGetProperty("required", out var names))
        {
            if (names.ValueKind != JsonValueKind.Array || names.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
                throw new JsonSchemaException("required", $"'required'{At(path)} must be an array of strings.");
            foreach (var name in names.EnumerateArray().Select(n => n.GetString()!))
            {
                var index = properties.FindIndex(p => p.Name == name);
                if (index < 0)
                {
                    if (!additional) throw new JsonSchemaException("required", $"required property '{name}'{At(path)} is not in 'properties' and additionalProperties is false.");
                    properties.Add(new PropertySchema(name, Encoding.UTF8.GetBytes(JsonText.String(name)), SchemaNode.AnyValue));
                    index = properties.Count - 1;
                }
                if (index < MaxProperties) required |= 1UL << index;
            }
        }
        if (properties.Count > MaxProperties)
            throw new JsonSchemaException("properties", $"an object schema{At(path)} declares {properties.Count} properties; at most {MaxProperties} are supported.");
        return new SchemaNode
        {
            Types = node.Types, Literals = node.Literals, Items = node.Items, MinItems = node.MinItems, MaxItems = node.MaxItems,
            MinLength = node.MinLength, MaxLength = node.MaxLength,
            Properties = properties, Required = required, FreeKeys = properties.Count == 0 && additional,
        };
    }

    private static JsonTypes Types(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type)) return JsonTypes.Any;
        var names = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array when type.GetArrayLength() > 0 && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String) =>
                type.EnumerateArray().Select(t => t.GetString()!).ToList(),
            _ => throw new JsonSchemaException("type", $"'type'{At(path)} must be a type name or a non-empty array of them."),
        };
        var types = JsonTypes.None;
        foreach (var name in names)
        {
            types |= name switch
            {
                "object" => JsonTypes.Object,
                "array" => JsonTypes.Array,
                "string" => JsonTypes.String,
                "number" => JsonTypes.Number,
                "integer" => JsonTypes.Integer,
                "boolean" => JsonTypes.Boolean,
                "null" => JsonTypes.Null,
                _ => throw new JsonSchemaException("type", $"'{name}'{At(path)} is not a JSON Schema type (object, array, string, number, integer, boolean, null)."),
            };
        }
        return types;
    }

    /// <summary>enum/const as the JSON texts to generate, keeping only values of the schema's type.</summary>
    private static IReadOnlyList<byte[]>? Literals(JsonElement schema, string path, JsonTypes types)
    {
        var values = new List<JsonElement>();
        var keyword = schema.TryGetProperty("const", out var constant) ? "const" : "enum";
        if (keyword == "const")
        {
            values.Add(constant);
            if (schema.TryGetProperty("enum", out _)) throw new JsonSchemaException("enum", $"'enum' beside 'const'{At(path)} is not supported.");
        }
        else if (schema.TryGetProperty("enum", out var options))
        {
            if (options.ValueKind != JsonValueKind.Array || options.GetArrayLength() is 0 or > MaxEnumValues)
                throw new JsonSchemaException("enum", $"'enum'{At(path)} must be an array of 1 to {MaxEnumValues} values.");
            values.AddRange(options.EnumerateArray());
        }
        else return null;

        var kept = values.Where(v => Admits(types, v)).Select(v => Encoding.UTF8.GetBytes(JsonText.Canonical(v))).ToList();
        if (kept.Count == 0) throw new JsonSchemaException(keyword, $"no value of '{keyword}'{At(path)} has the schema's type.");
        return kept.DistinctBy(Convert.ToHexString).ToList();
    }

    private static bool Admits(JsonTypes types, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => types.HasFlag(JsonTypes.Object),
        JsonValueKind.Array => types.HasFlag(JsonTypes.Array),
        JsonValueKind.String => types.HasFlag(JsonTypes.String),
        JsonValueKind.Number => types.HasFlag(JsonTypes.Number) || (types.HasFlag(JsonTypes.Integer) && value.TryGetInt64(out _)),
        JsonValueKind.True or JsonValueKind.False => types.HasFlag(JsonTypes.Boolean),
        _ => types.HasFlag(JsonTypes.Null),
    };

    private static int Count(JsonElement schema, string keyword, string path, int absent)
    {
        if (!schema.TryGetProperty(keyword, out var value)) return absent;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0) return n;
        throw new JsonSchemaException(keyword, $"'{keyword}'{At(path)} must be a non-negative integer.");
    }

    private static string At(string path) => path.Length == 0 ? "" : $" (at {path.TrimEnd('.')})";

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();
}
