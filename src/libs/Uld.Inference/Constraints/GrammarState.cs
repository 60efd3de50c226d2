namespace Uld.Inference.Constraints;

/// <summary>
/// Where a constrained text is: every reading of the bytes so far that can still become valid (a set of automaton
/// stacks). Immutable and compared by value, so equal states can share one token mask.
/// </summary>
public sealed class GrammarState : IEquatable<GrammarState>
{
    [ThreadStatic] private static List<FrameStack>? _scratch;

    private readonly FrameStack[] _stacks;

    internal GrammarState(FrameStack[] stacks) => _stacks = stacks;

    /// <summary>The text so far is a complete value: the end of the output (EOS) may come here.</summary>
    public bool IsComplete => _stacks.Any(s => s.IsComplete);

    /// <summary>Some byte may still come (false once only the end can).</summary>
    public bool CanContinue => _stacks.Any(s => !s.IsComplete);

    /// <summary>The state after <paramref name="b"/>, or null when no reading admits it.</summary>
    public GrammarState? Step(byte b)
    {
        var output = _scratch ??= [];
        output.Clear();
        foreach (var stack in _stacks) JsonAutomaton.Step(stack, b, output);
        if (output.Count == 0) return null;
        // Inside a string most bytes change nothing: no allocation then, which keeps a walk over the vocabulary cheap.
        if (output.Count == 1 && _stacks.Length == 1 && ReferenceEquals(output[0], _stacks[0])) return this;
        return new GrammarState(Distinct(output));
    }

    /// <summary>
    /// Readings kept at most. Each reading is a valid parse of the text so far and can be completed on its own, so
    /// dropping the rest only narrows what may follow — it never lets invalid text through — and a schema written
    /// to multiply readings cannot make every mask walk slower without bound.
    /// </summary>
    public const int MaxReadings = 64;

    private static FrameStack[] Distinct(List<FrameStack> stacks)
    {
        if (stacks.Count == 1) return [stacks[0]];
        var kept = new List<FrameStack>(Math.Min(stacks.Count, MaxReadings));
        foreach (var s in stacks)
        {
            if (!kept.Contains(s)) kept.Add(s);
            if (kept.Count == MaxReadings) break;
        }
        return [.. kept];
    }

    /// <summary>The state after all of <paramref name="bytes"/>, or null when they cannot come next.</summary>
    public GrammarState? Step(ReadOnlySpan<byte> bytes)
    {
        var state = this;
        foreach (var b in bytes)
        {
            state = state.Step(b);
            if (state is null) return null;
        }
        return state;
    }

    /// <summary>Whether <paramref name="text"/> (UTF-8) is a complete text of the grammar, read from this state.</summary>
    public bool Accepts(ReadOnlySpan<byte> text) => Step(text)?.IsComplete == true;

    /// <summary>
    /// The one string-content state every reading is in, if so, and how many more characters it may hold: its mask
    /// splits into a cached part (<see cref="TokenVocabulary"/>).
    /// </summary>
    internal (StringLexer Lexer, int CharactersLeft)? StringContent =>
        _stacks.Length == 1 && _stacks[0].Top is StringFrame s && !s.Lexer.Escape && s.Lexer.Hex == 0
            ? (s.Lexer with { Length = 0, Points = 0, Counting = false }, s.Lexer.Counting ? s.Schema.MaxLength - s.Lexer.Length : int.MaxValue)
            : null;

    public bool Equals(GrammarState? other) =>
        other is not null && (ReferenceEquals(this, other) || _stacks.AsSpan().SequenceEqual(other._stacks));

    public override bool Equals(object? obj) => Equals(obj as GrammarState);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var s in _stacks) hash.Add(s);
        return hash.ToHashCode();
    }
}

/// <summary>
/// What a constrained output must be: optional fixed text, a JSON value of <see cref="Schema"/>, optional fixed text
/// (a tool call's markup around its JSON). Compile a schema with <see cref="JsonSchemaCompiler"/>.
/// </summary>
public sealed record JsonGrammar(SchemaNode Schema, byte[]? Prefix = null, byte[]? Suffix = null)
{
    /// <summary>response_format json_object: any JSON object.</summary>
    public static JsonGrammar AnyObject { get; } = new(SchemaNode.AnyObject);

    public GrammarState Start()
    {
        var stack = FrameStack.Empty;
        if (Suffix is { Length: > 0 }) stack = stack.Push(new LiteralFrame([Suffix], 0));
        stack = stack.Push(new ValueFrame(Schema, 0));
        if (Prefix is { Length: > 0 }) stack = stack.Push(new LiteralFrame([Prefix], 0));
        return new GrammarState([stack]);
    }
}
