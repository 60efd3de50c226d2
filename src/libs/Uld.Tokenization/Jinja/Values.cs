using System.Globalization;
using System.Text;

namespace Uld.Tokenization.Jinja;

/// <summary>A variable that does not exist: falsy, renders as nothing, and its attributes are undefined too.</summary>
public sealed class Undefined
{
    public static Undefined Instance { get; } = new();

    private Undefined() { }
}

/// <summary>namespace(...): the one object a template may change from inside a loop.</summary>
public sealed class Namespace(Dictionary<string, object?> attributes)
{
    public Dictionary<string, object?> Attributes { get; } = attributes;
}

/// <summary>A function value: a global (range, namespace, raise_exception) or a bound string/dict method.</summary>
public delegate object? JinjaFunction(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>
/// Python semantics for template values: strings, long, double, bool, null (none), List&lt;object?&gt;,
/// Dictionary&lt;string, object?&gt; (insertion-ordered), <see cref="Namespace"/>, <see cref="Undefined"/>.
/// </summary>
public static class Values
{
    public static bool IsTruthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Dictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    /// <summary>What {{ value }} writes: Python's str().</summary>
    public static string ToText(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(value, topLevel: true),
    };

    private static string Repr(object? value, bool topLevel) => value switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        string s => topLevel ? s : "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'",
        List<object?> list => "[" + string.Join(", ", list.Select(v => Repr(v, false))) + "]",
        Dictionary<string, object?> dict => "{" + string.Join(", ", dict.Select(kv => $"{Repr(kv.Key, false)}: {Repr(kv.Value, false)}")) + "}",
        _ => value.ToString() ?? "",
    };

    private static string FormatDouble(double d) =>
        double.IsInteger(d) && Math.Abs(d) < 1e16 ? d.ToString("0.0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    public static bool AreEqual(object? a, object? b) => (a, b) switch
    {
        (null, null) or (Undefined, Undefined) => true,
        (long x, long y) => x == y,
        (long or double, long or double) => ToDouble(a) == ToDouble(b),
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        (bool x, bool y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) =>
            x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && AreEqual(kv.Value, v)),
        _ => ReferenceEquals(a, b),
    };

    public static int Compare(object? a, object? b, int line) => (a, b) switch
    {
        (long x, long y) => x.CompareTo(y),
        (long or double, long or double) => ToDouble(a).CompareTo(ToDouble(b)),
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => throw new JinjaException($"line {line}: cannot compare {TypeName(a)} with {TypeName(b)}."),
    };

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new JinjaException($"{TypeName(value)} is not a number."),
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined",
        string => "string",
        long => "integer",
        double => "float",
        bool => "boolean",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        Namespace => "namespace",
        JinjaFunction => "function",
        _ => value.GetType().Name,
    };

    /// <summary>The tojson filter: Hugging Face's json.dumps(ensure_ascii=False) layout, ", " and ": " separators.</summary>
    public static string ToJson(object? value)
    {
        var json = new StringBuilder();
        WriteJson(json, value, null, 0);
        return json.ToString();
    }

    /// <summary>json.dumps(value, indent=n, ensure_ascii=False): one item per line, "," and ": " separators.</summary>
    public static string ToJson(object? value, int indent)
    {
        var json = new StringBuilder();
        WriteJson(json, value, indent, 0);
        return json.ToString();
    }

    private static void WriteJson(StringBuilder json, object? value, int? indent, int level)
    {
        void Break(int depth)
        {
            if (indent is { } n) json.Append('\n').Append(' ', n * depth);
        }
        var separator = indent is null ? ", " : ",";
        switch (value)
        {
            case null or Undefined: json.Append("null"); break;
            case bool b: json.Append(b ? "true" : "false"); break;
            case long l: json.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: json.Append(FormatDouble(d)); break;
            case string s: WriteJsonString(json, s); break;
            case List<object?> list:
                json.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0) json.Append(separator);
                    Break(level + 1);
                    WriteJson(json, list[i], indent, level + 1);
                }
                if (list.Count > 0) Break(level);
                json.Append(']');
                break;
            case Dictionary<string, object?> dict:
                json.Append('{');
                var first = true;
                foreach (var (key, item) in dict)
                {
                    if (!first) json.Append(separator);
                    first = false;
                    Break(level + 1);
                    WriteJsonString(json, key);
                    json.Append(": ");
                    WriteJson(json, item, indent, level + 1);
                }
                if (dict.Count > 0) Break(level);
                json.Append('}');
                break;
            default: throw new JinjaException($"cannot convert {TypeName(value)} to JSON.");
        }
    }

    private static void WriteJsonString(StringBuilder json, string s)
    {
        json.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case < ' ': json.Append($"\\u{(int)c:x4}"); break;
                default: json.Append(c); break;
            }
        }
        json.Append('"');
    }
}
