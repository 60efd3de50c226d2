namespace Uld.Inference.Constraints;

/// <summary>
/// The transition function of the JSON pushdown automaton, one byte at a time. Where the text so far has more than one
/// reading (a number that may go on or be complete, an enum value that is a prefix of another, anyOf alternatives that
/// start alike) every reading is kept: a state is a set of stacks (<see cref="GrammarState"/>).
/// </summary>
internal static class JsonAutomaton
{
    /// <summary>
    /// Whitespace bytes allowed in a row between JSON tokens: ", " and a newline with a little indentation, not more —
    /// a model that likes whitespace could otherwise spend its whole max_tokens on it before the first value.
    /// </summary>
    public const int MaxWhitespace = 4;
    /// <summary>Nesting limit for objects and arrays the schema leaves open (a free object's values).</summary>
    public const int MaxNesting = 64;
    /// <summary>Digits of an integer part or a fraction: 15 keep every number exact as a double.</summary>
    public const int MaxDigits = 15;
    public const int MaxExponentDigits = 2;

    private static readonly IReadOnlyList<byte[]> Booleans = ["true"u8.ToArray(), "false"u8.ToArray()];
    private static readonly IReadOnlyList<byte[]> Null = ["null"u8.ToArray()];

    public static void Step(FrameStack stack, byte b, List<FrameStack> output)
    {
        switch (stack.Top)
        {
            case null:
                return;
            case ValueFrame v:
                if (IsWhitespace(b))
                {
                    if (v.Ws < MaxWhitespace) output.Add(stack.Replace(v with { Ws = v.Ws + 1 }));
                    return;
                }
                StartValue(stack.Rest!, v.Schema, b, output);
                return;
            case LiteralFrame l:
                StepLiteral(stack.Rest!, l, b, output);
                return;
            case StringFrame s:
                if (!s.Lexer.TryStep(b, s.Schema.MaxLength, out var next, out var closed)) return;
                if (closed)
                {
                    if (s.Lexer.Points >= s.Schema.MinLength) output.Add(stack.Rest!);
                    return;
                }
                output.Add(next == s.Lexer ? stack : stack.Replace(s with { Lexer = next }));
                return;
            case NumberFrame n:
                StepNumber(stack.Rest!, n, b, output);
                return;
            case ObjectFrame o:
                StepObject(stack, o, b, output);
                return;
            case ArrayFrame a:
                StepArray(stack, a, b, output);
                return;
        }
    }

    /// <summary>The first byte of a value of <paramref name="schema"/> pushed on <paramref name="rest"/>.</summary>
    private static void StartValue(FrameStack rest, SchemaNode schema, byte b, List<FrameStack> output)
    {
        if (schema.AnyOf is { } alternatives)
        {
            foreach (var alternative in alternatives) StartValue(rest, alternative, b, output);
            return;
        }
        if (schema.Literals is { } literals)
        {
            StepLiteral(rest, new LiteralFrame(literals, 0), b, output);
            return;
        }
        var types = schema.Types;
        switch (b)
        {
            case (byte)'{' when types.HasFlag(JsonTypes.Object) && rest.Depth < MaxNesting:
                output.Add(rest.Push(new ObjectFrame(schema, ObjectPhase.FirstKey, 0, 0)));
                break;
            case (byte)'[' when types.HasFlag(JsonTypes.Array) && rest.Depth < MaxNesting:
                output.Add(rest.Push(new ArrayFrame(schema, ArrayPhase.FirstItem, 0, 0)));
                break;
            case (byte)'"' when types.HasFlag(JsonTypes.String):
                output.Add(rest.Push(new StringFrame(StringLexer.Start(schema.HasLengthBounds), schema)));
                break;
            case (byte)'-' or >= (byte)'0' and <= (byte)'9' when (types & (JsonTypes.Number | JsonTypes.Integer)) != 0:
                StepNumber(rest, new NumberFrame(!types.HasFlag(JsonTypes.Number), NumberPhase.Start, 0), b, output);
                break;
            case (byte)'t' or (byte)'f' when types.HasFlag(JsonTypes.Boolean):
                StepLiteral(rest, new LiteralFrame(Booleans, 0), b, output);
                break;
            case (byte)'n' when types.HasFlag(JsonTypes.Null):
                StepLiteral(rest, new LiteralFrame(Null, 0), b, output);
                break;
        }
    }

    private static void StepLiteral(FrameStack rest, LiteralFrame literal, byte b, List<FrameStack> output)
    {
        var at = literal.Matched;
        List<byte[]>? longer = null;
        var complete = false;
        foreach (var candidate in literal.Alive)
        {
            if (candidate.Length <= at || candidate[at] != b) continue;
            if (candidate.Length == at + 1) complete = true;
            else (longer ??= []).Add(candidate);
        }
        if (complete) output.Add(rest);
        if (longer is not null)
            output.Add(rest.Push(longer.Count == literal.Alive.Count ? literal with { Matched = at + 1 } : new LiteralFrame(longer, at + 1)));
    }

    private static void StepNumber(FrameStack rest, NumberFrame n, byte b, List<FrameStack> output)
    {
        var digit = b is >= (byte)'0' and <= (byte)'9';
        var exponent = b is (byte)'e' or (byte)'E';
        (NumberPhase Phase, int Digits)? next = n.Phase switch
        {
            NumberPhase.Start when b == '-' => (NumberPhase.Minus, 0),
            NumberPhase.Start or NumberPhase.Minus when b == '0' => (NumberPhase.Zero, 1),
            NumberPhase.Start or NumberPhase.Minus when digit => (NumberPhase.Int, 1),
            NumberPhase.Int when digit && n.Digits < MaxDigits => (NumberPhase.Int, n.Digits + 1),
            NumberPhase.Zero or NumberPhase.Int when b == '.' && !n.Integer => (NumberPhase.Dot, 0),
            NumberPhase.Zero or NumberPhase.Int or NumberPhase.Frac when exponent && !n.Integer => (NumberPhase.E, 0),
            NumberPhase.Dot when digit => (NumberPhase.Frac, 1),
            NumberPhase.Frac when digit && n.Digits < MaxDigits => (NumberPhase.Frac, n.Digits + 1),
            NumberPhase.E when b is (byte)'+' or (byte)'-' => (NumberPhase.ESign, 0),
            NumberPhase.E or NumberPhase.ESign when digit => (NumberPhase.Exp, 1),
            NumberPhase.Exp when digit && n.Digits < MaxExponentDigits => (NumberPhase.Exp, n.Digits + 1),
            _ => null,
        };
        if (next is not { } s) return;
        var frame = new NumberFrame(n.Integer, s.Phase, s.Digits);
        var accepting = s.Phase is NumberPhase.Zero or NumberPhase.Int or NumberPhase.Frac or NumberPhase.Exp;
        var canGoOn = s.Phase switch
        {
            NumberPhase.Zero => !n.Integer,
            NumberPhase.Int => s.Digits < MaxDigits || !n.Integer,
            NumberPhase.Exp => s.Digits < MaxExponentDigits,
            _ => true,
        };
        if (canGoOn) output.Add(rest.Push(frame));
        if (accepting) output.Add(rest);
    }

    private static void StepObject(FrameStack stack, ObjectFrame o, byte b, List<FrameStack> output)
    {
        var schema = o.Schema;
        var whitespace = IsWhitespace(b);
        switch (o.Phase)
        {
            case ObjectPhase.FirstKey or ObjectPhase.NextKey or ObjectPhase.Colon or ObjectPhase.AfterValue when whitespace:
                if (o.Ws < MaxWhitespace) output.Add(stack.Replace(o with { Ws = o.Ws + 1 }));
                return;
            case ObjectPhase.FirstKey or ObjectPhase.NextKey when b == '"':
                if (schema.FreeKeys)
                {
                    output.Add(stack.Replace(o with { Phase = ObjectPhase.FreeKey, Ws = 0, KeyLexer = StringLexer.Start(false), KeyText = "" }));
                    return;
                }
                var alive = ~o.Seen & AllProperties(schema);
                if (alive != 0) output.Add(stack.Replace(o with { Phase = ObjectPhase.Key, Ws = 0, Alive = alive, Matched = 1 }));
                return;
            case ObjectPhase.FirstKey or ObjectPhase.AfterValue when b == '}':
                if ((schema.Required & o.Seen) == schema.Required) output.Add(stack.Rest!);
                return;
            case ObjectPhase.AfterValue when b == ',':
                if (schema.FreeKeys || (~o.Seen & AllProperties(schema)) != 0) output.Add(stack.Replace(o with { Phase = ObjectPhase.NextKey, Ws = 0 }));
                return;
            case ObjectPhase.Key:
                StepKey(stack, o, b, output);
                return;
            case ObjectPhase.FreeKey:
                if (!o.KeyLexer.TryStep(b, int.MaxValue, out var next, out var closed)) return;
                if (!closed)
                {
                    output.Add(stack.Replace(o with { KeyLexer = next, KeyText = o.KeyText + (char)b }));
                    return;
                }
                if (o.FreeSeen?.Contains(o.KeyText) != true)
                    output.Add(stack.Replace(o with { Phase = ObjectPhase.Colon, FreeSeen = new FreeKeySet(o.KeyText, o.FreeSeen), KeyText = "" }));
                return;
            case ObjectPhase.Colon when b == ':':
                var property = o.Property >= 0 ? schema.Properties[o.Property] : null;
                var parent = o with { Phase = ObjectPhase.AfterValue, Ws = 0, Property = -1, Seen = property is null ? o.Seen : o.Seen | (1UL << o.Property) };
                output.Add(stack.Replace(parent).Push(new ValueFrame(property?.Schema ?? SchemaNode.AnyValue, 0)));
                return;
        }
    }

    /// <summary>A declared key, matched against the JSON text of every property not yet written (keys are prefix-free: each ends at its quote).</summary>
    private static void StepKey(FrameStack stack, ObjectFrame o, byte b, List<FrameStack> output)
    {
        var properties = o.Schema.Properties;
        ulong alive = 0;
        for (var bits = o.Alive; bits != 0; bits &= bits - 1)
        {
            var i = System.Numerics.BitOperations.TrailingZeroCount(bits);
            var key = properties[i].Key;
            if (key.Length <= o.Matched || key[o.Matched] != b) continue;
            if (key.Length == o.Matched + 1)
            {
                output.Add(stack.Replace(o with { Phase = ObjectPhase.Colon, Ws = 0, Alive = 0, Matched = 0, Property = i }));
                return;
            }
            alive |= 1UL << i;
        }
        if (alive != 0) output.Add(stack.Replace(o with { Alive = alive, Matched = o.Matched + 1 }));
    }

    private static void StepArray(FrameStack stack, ArrayFrame a, byte b, List<FrameStack> output)
    {
        var schema = a.Schema;
        if (IsWhitespace(b))
        {
            if (a.Ws < MaxWhitespace) output.Add(stack.Replace(a with { Ws = a.Ws + 1 }));
            return;
        }
        switch (a.Phase)
        {
            case ArrayPhase.FirstItem or ArrayPhase.AfterItem when b == ']':
                if (a.Count >= schema.MinItems) output.Add(stack.Rest!);
                return;
            case ArrayPhase.AfterItem when b == ',':
                if (a.Count < schema.MaxItems) output.Add(stack.Replace(a with { Phase = ArrayPhase.NextItem, Ws = 0 }));
                return;
            case ArrayPhase.FirstItem or ArrayPhase.NextItem when a.Count < schema.MaxItems:
                StartValue(stack.Replace(a with { Phase = ArrayPhase.AfterItem, Count = a.Count + 1, Ws = 0 }), schema.Items ?? SchemaNode.AnyValue, b, output);
                return;
        }
    }

    private static ulong AllProperties(SchemaNode schema) =>
        schema.Properties.Count >= 64 ? ulong.MaxValue : (1UL << schema.Properties.Count) - 1;

    public static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';
}
