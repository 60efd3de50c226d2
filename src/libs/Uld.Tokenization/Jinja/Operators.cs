namespace Uld.Tokenization.Jinja;

/// <summary>Binary operators with Python's meaning: + joins strings and lists, / is true division, // floors, 'in' searches.</summary>
public static class Operators
{
    public static object? Apply(string op, object? left, object? right, int line) => op switch
    {
        "==" => Values.AreEqual(left, right),
        "!=" => !Values.AreEqual(left, right),
        "<" => Values.Compare(left, right, line) < 0,
        ">" => Values.Compare(left, right, line) > 0,
        "<=" => Values.Compare(left, right, line) <= 0,
        ">=" => Values.Compare(left, right, line) >= 0,
        "in" => Contains(right, left, line),
        "not in" => !Contains(right, left, line),
        "~" => Values.ToText(left) + Values.ToText(right),
        "+" => Add(left, right, line),
        "-" => Arithmetic(left, right, line, (a, b) => a - b, (a, b) => a - b),
        "*" => left is string s && right is long n ? string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, n)))
            : Arithmetic(left, right, line, (a, b) => a * b, (a, b) => a * b),
        "/" => Values.ToDouble(right) == 0 ? throw new JinjaException($"line {line}: division by zero.") : Values.ToDouble(left) / Values.ToDouble(right),
        "//" => Arithmetic(left, right, line, (a, b) => b == 0 ? throw new JinjaException($"line {line}: division by zero.") : (long)Math.Floor((double)a / b),
            (a, b) => Math.Floor(a / b)),
        "%" => Arithmetic(left, right, line, (a, b) => b == 0 ? throw new JinjaException($"line {line}: modulo by zero.") : ((a % b) + b) % b,
            (a, b) => a - b * Math.Floor(a / b)),
        _ => throw new JinjaException($"line {line}: unsupported operator '{op}'."),
    };

    private static object? Add(object? left, object? right, int line) => (left, right) switch
    {
        (string a, string b) => a + b,
        (List<object?> a, List<object?> b) => a.Concat(b).ToList(),
        (string, _) or (_, string) => throw new JinjaException(
            $"line {line}: cannot add {Values.TypeName(left)} and {Values.TypeName(right)} (use ~ or |string)."),
        _ => Arithmetic(left, right, line, (a, b) => a + b, (a, b) => a + b),
    };

    private static object? Arithmetic(object? left, object? right, int line, Func<long, long, long> integers, Func<double, double, double> floats)
    {
        if (left is long a && right is long b) return integers(a, b);
        if (left is long or double && right is long or double) return floats(Values.ToDouble(left), Values.ToDouble(right));
        throw new JinjaException($"line {line}: unsupported operands {Values.TypeName(left)} and {Values.TypeName(right)}.");
    }

    private static bool Contains(object? container, object? item, int line) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        List<object?> list => list.Any(x => Values.AreEqual(x, item)),
        Dictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        Undefined => false,
        _ => throw new JinjaException($"line {line}: 'in' needs a string, list or mapping, got {Values.TypeName(container)}."),
    };
}
