namespace Uld.Inference.Constraints;

/// <summary>The JSON types a schema admits (JSON Schema's <c>type</c>; integer is a number without fraction or exponent).</summary>
[Flags]
public enum JsonTypes
{
    None = 0,
    Object = 1,
    Array = 2,
    String = 4,
    Number = 8,
    Integer = 16,
    Boolean = 32,
    Null = 64,
    Any = Object | Array | String | Number | Boolean | Null,
}

/// <summary>A property an object schema declares: its name as the JSON text a generated key must be, and its schema.</summary>
public sealed record PropertySchema(string Name, byte[] Key, SchemaNode Schema);

/// <summary>
/// A compiled JSON Schema (the subset <see cref="JsonSchemaCompiler"/> accepts), as the automaton walks it. Compared by
/// reference: two nodes are the same node only if they are one object, which keeps automaton states cheap to compare.
/// </summary>
public sealed class SchemaNode
{
    /// <summary>Any JSON value (<c>{}</c>, <c>true</c>, the values of a free object).</summary>
    public static SchemaNode AnyValue { get; } = new() { Types = JsonTypes.Any, FreeKeys = true };

    /// <summary>An object with any keys and values: <c>response_format: json_object</c>.</summary>
    public static SchemaNode AnyObject { get; } = new() { Types = JsonTypes.Object, FreeKeys = true };

    public JsonTypes Types { get; init; } = JsonTypes.Any;

    /// <summary><c>enum</c>/<c>const</c>: the only values, each as the exact JSON text generated for it; null when free.</summary>
    public IReadOnlyList<byte[]>? Literals { get; init; }

    /// <summary><c>anyOf</c>: the value matches one of these (this node's own keywords are then only annotations).</summary>
    public IReadOnlyList<SchemaNode>? AnyOf { get; init; }

    /// <summary>Object: the declared properties, in declaration order (at most 64).</summary>
    public IReadOnlyList<PropertySchema> Properties { get; init; } = [];

    /// <summary>Bit i set: <see cref="Properties"/>[i] is required.</summary>
    public ulong Required { get; init; }

    /// <summary>
    /// Object without declared properties whose <c>additionalProperties</c> is not false: any keys, any values. With
    /// declared properties only they are generated — a subset of what the schema allows, always valid.
    /// </summary>
    public bool FreeKeys { get; init; }

    /// <summary>Array: the schema of every item (any value when null).</summary>
    public SchemaNode? Items { get; init; }
    public int MinItems { get; init; }
    public int MaxItems { get; init; } = int.MaxValue;

    /// <summary>
    /// String: length bounds — minLength in code points (JSON Schema's characters), maxLength in UTF-16 code units (what
    /// JavaScript validators count; never fewer than the code points), so both kinds of validator accept the text.
    /// </summary>
    public int MinLength { get; init; }
    public int MaxLength { get; init; } = int.MaxValue;

    public bool HasLengthBounds => MinLength > 0 || MaxLength != int.MaxValue;
}
