using System.Globalization;

namespace Uld.Tokenization.Jinja;

/// <summary>Filters, tests, globals and the Python string/dict methods chat templates call.</summary>
public static class Builtins
{
    private delegate object? Filter(object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, int line);

    private static readonly Dictionary<string, Filter> Filters = new()
    {
        ["trim"] = (v, a, _, l) => a.Count == 0 ? PyStrip(Str(v, l), null, true, true) : PyStrip(Str(v, l), Str(a[0], l), true, true),
        ["length"] = (v, _, _, l) => Length(v, l),
        ["count"] = (v, _, _, l) => Length(v, l),
        ["tojson"] = ToJson,
        ["string"] = (v, _, _, _) => Values.ToText(v),
        ["upper"] = (v, _, _, l) => Str(v, l).ToUpperInvariant(),
        ["lower"] = (v, _, _, l) => Str(v, l).ToLowerInvariant(),
        ["capitalize"] = (v, _, _, l) => Capitalize(Str(v, l)),
        ["first"] = (v, _, _, l) => Sequence(v, l).FirstOrDefault(Undefined.Instance),
        ["last"] = (v, _, _, l) => Sequence(v, l).LastOrDefault(Undefined.Instance),
        ["join"] = (v, a, _, l) => string.Join(a.Count > 0 ? Str(a[0], l) : "", Sequence(v, l).Select(Values.ToText)),
        ["default"] = Default,
        ["d"] = Default,
        ["items"] = (v, _, _, l) => Items(v, l),
        ["list"] = (v, _, _, l) => Sequence(v, l).ToList(),
        ["reverse"] = (v, _, _, l) => v is string s ? new string(s.Reverse().ToArray()) : Sequence(v, l).AsEnumerable().Reverse().ToList(),
        ["int"] = (v, _, _, _) => ToInt(v),
        ["abs"] = (v, _, _, l) => v is long n ? Math.Abs(n) : Math.Abs(Values.ToDouble(v)),
        ["replace"] = (v, a, _, l) => Str(v, l).Replace(Str(a[0], l), Str(a[1], l), StringComparison.Ordinal),
        ["safe"] = (v, _, _, _) => v,
    };

    private static readonly Dictionary<string, Func<object?, IReadOnlyList<object?>, bool>> Tests = new()
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["string"] = (v, _) => v is string,
        ["number"] = (v, _) => v is long or double,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["mapping"] = (v, _) => v is Dictionary<string, object?>,
        ["sequence"] = (v, _) => v is List<object?> or string,
        ["iterable"] = (v, _) => v is List<object?> or string or Dictionary<string, object?>,
        ["callable"] = (v, _) => v is JinjaFunction,
        ["odd"] = (v, _) => v is long n && n % 2 != 0,
        ["even"] = (v, _) => v is long n && n % 2 == 0,
        ["divisibleby"] = (v, a) => v is long n && a is [long d] && d != 0 && n % d == 0,
        ["equalto"] = (v, a) => a.Count == 1 && Values.AreEqual(v, a[0]),
        ["eq"] = (v, a) => a.Count == 1 && Values.AreEqual(v, a[0]),
    };

    public static bool HasFilter(string name) => Filters.ContainsKey(name);

    public static bool HasTest(string name) => Tests.ContainsKey(name);

    public static object? ApplyFilter(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, int line) =>
        Filters[name](value, args, kwargs, line);

    public static bool ApplyTest(string name, object? value, IReadOnlyList<object?> args) => Tests[name](value, args);

    /// <summary>Names every template can call, unless it sets a variable of the same name.</summary>
    public static IReadOnlyDictionary<string, object?> Globals { get; } = new Dictionary<string, object?>
    {
        ["raise_exception"] = new JinjaFunction((a, _) => throw new TemplateRaisedException(a.Count > 0 ? Values.ToText(a[0]) : "the chat template raised an exception")),
        ["namespace"] = new JinjaFunction((_, kw) => new Namespace(new Dictionary<string, object?>(kw))),
        ["range"] = new JinjaFunction((a, _) => Range(a)),
        ["strftime_now"] = new JinjaFunction((a, _) => StrftimeNow(a.Count > 0 ? Values.ToText(a[0]) : "%Y-%m-%d")),
    };

    /// <summary>A Python method bound to its receiver (message.content.startswith), or null if there is none of that name.</summary>
    public static JinjaFunction? Method(object? receiver, string name, int line) => (receiver, name) switch
    {
        (string s, "startswith") => (a, _) => AnyPrefix(s, a[0], line, (x, p) => x.StartsWith(p, StringComparison.Ordinal)),
        (string s, "endswith") => (a, _) => AnyPrefix(s, a[0], line, (x, p) => x.EndsWith(p, StringComparison.Ordinal)),
        (string s, "strip") => (a, _) => PyStrip(s, OptionalChars(a, line), true, true),
        (string s, "lstrip") => (a, _) => PyStrip(s, OptionalChars(a, line), true, false),
        (string s, "rstrip") => (a, _) => PyStrip(s, OptionalChars(a, line), false, true),
        (string s, "split") => (a, _) => PySplit(s, OptionalChars(a, line), a.Count > 1 ? (int)ToInt(a[1]) : -1, line),
        (string s, "upper") => (_, _) => s.ToUpperInvariant(),
        (string s, "lower") => (_, _) => s.ToLowerInvariant(),
        (string s, "capitalize") => (_, _) => Capitalize(s),
        (string s, "replace") => (a, _) => s.Replace(Str(a[0], line), Str(a[1], line), StringComparison.Ordinal),
        (string s, "find") => (a, _) => (long)s.IndexOf(Str(a[0], line), StringComparison.Ordinal),
        (string s, "join") => (a, _) => string.Join(s, Sequence(a[0], line).Select(Values.ToText)),
        (Dictionary<string, object?> d, "get") => (a, _) => d.TryGetValue(Str(a[0], line), out var v) ? v : a.Count > 1 ? a[1] : null,
        (Dictionary<string, object?> d, "items") => (_, _) => Items(d, line),
        (Dictionary<string, object?> d, "keys") => (_, _) => d.Keys.Select(k => (object?)k).ToList(),
        (Dictionary<string, object?> d, "values") => (_, _) => d.Values.ToList(),
        _ => null,
    };

    public static List<object?> Sequence(object? value, int line) => value switch
    {
        List<object?> list => list,
        string s => s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList(),
        Dictionary<string, object?> dict => dict.Keys.Select(k => (object?)k).ToList(),
        Undefined => [],
        _ => throw new JinjaException($"line {line}: {Values.TypeName(value)} is not iterable."),
    };

    /// <summary>tojson, optionally tojson(indent=N) as Llama 3.1's tool template writes function definitions.</summary>
    private static object? ToJson(object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, int line)
    {
        if (kwargs.Keys.Any(k => k != "indent")) throw new JinjaException($"line {line}: tojson supports only the indent option.");
        var indent = kwargs.TryGetValue("indent", out var i) ? i : args.Count > 0 ? args[0] : null;
        return indent switch
        {
            null => Values.ToJson(value),
            long n when n >= 0 => Values.ToJson(value, (int)n),
            _ => throw new JinjaException($"line {line}: tojson's indent must be a non-negative integer."),
        };
    }

    private static object? Default(object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, int line)
    {
        var orFalsy = args.Count > 1 && Values.IsTruthy(args[1]);
        var replace = value is Undefined || (orFalsy && !Values.IsTruthy(value));
        return replace ? args.Count > 0 ? args[0] : "" : value;
    }

    private static long Length(object? value, int line) => value switch
    {
        string s => s.EnumerateRunes().Count(),
        List<object?> list => list.Count,
        Dictionary<string, object?> dict => dict.Count,
        _ => throw new JinjaException($"line {line}: {Values.TypeName(value)} has no length."),
    };

    private static List<object?> Items(object? value, int line) => value is Dictionary<string, object?> dict
        ? dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()
        : throw new JinjaException($"line {line}: items() needs a mapping, got {Values.TypeName(value)}.");

    private static long ToInt(object? value) => value switch
    {
        long l => l,
        double d => (long)Math.Truncate(d),
        bool b => b ? 1 : 0,
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
        _ => 0,
    };

    private static string Str(object? value, int line) =>
        value as string ?? throw new JinjaException($"line {line}: expected a string, got {Values.TypeName(value)}.");

    private static string? OptionalChars(IReadOnlyList<object?> args, int line) => args.Count == 0 || args[0] is null ? null : Str(args[0], line);

    private static bool AnyPrefix(string s, object? prefixes, int line, Func<string, string, bool> test) => prefixes switch
    {
        List<object?> list => list.Any(p => test(s, Str(p, line))),
        _ => test(s, Str(prefixes, line)),
    };

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Python's str.strip family: whitespace by default, else any of the given characters.</summary>
    private static string PyStrip(string s, string? chars, bool left, bool right)
    {
        Func<char, bool> strip = chars is null ? char.IsWhiteSpace : chars.Contains;
        var start = 0;
        var end = s.Length;
        if (left) while (start < end && strip(s[start])) start++;
        if (right) while (end > start && strip(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary>Python's str.split: runs of whitespace (dropping empty pieces) without a separator, the exact separator otherwise.</summary>
    private static List<object?> PySplit(string s, string? separator, int maxSplit, int line)
    {
        if (separator is null)
        {
            var parts = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return parts.Select(p => (object?)p).ToList();
        }
        if (separator.Length == 0) throw new JinjaException($"line {line}: split() with an empty separator.");
        var pieces = maxSplit < 0 ? s.Split(separator) : s.Split(separator, maxSplit + 1);
        return pieces.Select(p => (object?)p).ToList();
    }

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        var bounds = args.Select(a => a is long l ? l : throw new JinjaException("range() takes integers.")).ToArray();
        var (start, stop, step) = bounds.Length switch
        {
            1 => (0L, bounds[0], 1L),
            2 => (bounds[0], bounds[1], 1L),
            3 => (bounds[0], bounds[1], bounds[2]),
            _ => throw new JinjaException("range() takes one to three arguments."),
        };
        if (step == 0) throw new JinjaException("range() step must not be zero.");
        var result = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step) result.Add(i);
        return result;
    }

    private static string StrftimeNow(string format)
    {
        var now = DateTime.Now;
        return format.Replace("%Y", now.ToString("yyyy", CultureInfo.InvariantCulture)).Replace("%m", now.ToString("MM", CultureInfo.InvariantCulture))
            .Replace("%d", now.ToString("dd", CultureInfo.InvariantCulture)).Replace("%b", now.ToString("MMM", CultureInfo.InvariantCulture))
            .Replace("%B", now.ToString("MMMM", CultureInfo.InvariantCulture)).Replace("%H", now.ToString("HH", CultureInfo.InvariantCulture))
            .Replace("%M", now.ToString("mm", CultureInfo.InvariantCulture));
    }
}
