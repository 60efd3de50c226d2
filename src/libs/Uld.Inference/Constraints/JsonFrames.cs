namespace Uld.Inference.Constraints;

/// <summary>
/// One level of the pushdown automaton's stack: what the JSON text at that nesting level still expects. Frames are
/// immutable records, so states are values: equal states have equal masks (<see cref="JsonTokenConstraint"/> caches on
/// that) and a walk over the vocabulary can branch without undoing anything.
/// </summary>
internal abstract record Frame;

/// <summary>
/// A persistent stack of frames; <see cref="Empty"/> means the whole text is complete. Compared by value, with the
/// hash computed once at construction (the rest of the stack is shared, so its hash is already known).
/// </summary>
internal sealed class FrameStack : IEquatable<FrameStack>
{
    private readonly int _hash;

    private FrameStack(Frame? top, FrameStack? rest, int depth)
    {
        (Top, Rest, Depth) = (top, rest, depth);
        _hash = HashCode.Combine(top, rest?._hash ?? 0);
    }

    public static FrameStack Empty { get; } = new(null, null, 0);

    public Frame? Top { get; }
    public FrameStack? Rest { get; }
    public int Depth { get; }

    public bool IsComplete => Top is null;

    public FrameStack Push(Frame frame) => new(frame, this, Depth + 1);

    public FrameStack Replace(Frame frame) => new(frame, Rest, Depth);

    public bool Equals(FrameStack? other)
    {
        for (var (a, b) = (this, other); ; (a, b) = (a.Rest, b.Rest))
        {
            if (ReferenceEquals(a, b)) return true;
            if (a is null || b is null || a._hash != b._hash || a.Depth != b.Depth || !Equals(a.Top, b.Top)) return false;
        }
    }

    public override bool Equals(object? obj) => Equals(obj as FrameStack);

    public override int GetHashCode() => _hash;
}

/// <summary>A value of <paramref name="Schema"/> is expected; <paramref name="Ws"/> whitespace bytes came before it.</summary>
internal sealed record ValueFrame(SchemaNode Schema, int Ws) : Frame;

/// <summary>One of a fixed set of byte strings (enum, const, true/false/null, a tool call's fixed text), <paramref name="Matched"/> bytes in.</summary>
internal sealed record LiteralFrame(IReadOnlyList<byte[]> Alive, int Matched) : Frame;

/// <summary>Inside a string value of <paramref name="Schema"/> (after its opening quote).</summary>
internal sealed record StringFrame(StringLexer Lexer, SchemaNode Schema) : Frame;

internal enum NumberPhase : byte { Start, Minus, Zero, Int, Dot, Frac, E, ESign, Exp }

/// <summary>A number being written; <paramref name="Digits"/> counts the digits of the current part (integer, fraction, exponent).</summary>
internal sealed record NumberFrame(bool Integer, NumberPhase Phase, int Digits) : Frame;

internal enum ObjectPhase : byte { FirstKey, Key, FreeKey, Colon, AfterValue, NextKey }

/// <summary>
/// Inside an object. <paramref name="Seen"/>: declared properties already written (bit per property). A declared key is
/// matched in place (<paramref name="Alive"/> candidates, <paramref name="Matched"/> bytes, then <paramref name="Property"/>);
/// a free key is lexed as a string (<paramref name="KeyLexer"/>, its raw text in <paramref name="KeyText"/>) and must
/// differ from the keys in <paramref name="FreeSeen"/>, so the text always parses without duplicate keys.
/// </summary>
internal sealed record ObjectFrame(SchemaNode Schema, ObjectPhase Phase, ulong Seen, int Ws,
    ulong Alive = 0, int Matched = 0, int Property = -1, StringLexer KeyLexer = default, string KeyText = "", FreeKeySet? FreeSeen = null) : Frame;

internal enum ArrayPhase : byte { FirstItem, AfterItem, NextItem }

internal sealed record ArrayFrame(SchemaNode Schema, ArrayPhase Phase, int Count, int Ws) : Frame;

/// <summary>The keys a free object has written (raw JSON text), as a persistent list; compared by reference.</summary>
internal sealed class FreeKeySet(string key, FreeKeySet? rest)
{
    public bool Contains(string candidate)
    {
        for (var set = this; set is not null; set = set._rest)
        {
            if (set._key == candidate) return true;
        }
        return false;
    }

    private readonly string _key = key;
    private readonly FreeKeySet? _rest = rest;
}

/// <summary>
/// The lexical state inside a JSON string: escapes (<c>\uXXXX</c> with 4 hex digits, never a surrogate), well-formed
/// UTF-8 (<paramref name="Utf8Left"/> continuation bytes in [<paramref name="NextMin"/>, <paramref name="NextMax"/>]), no raw
/// control characters, and — when <paramref name="Counting"/> — the length so far, both in UTF-16 code units
/// (<paramref name="Length"/>, what maxLength bounds: JavaScript validators such as zod count those, and they are never
/// fewer than the code points JSON Schema counts) and in code points (<paramref name="Points"/>, what minLength bounds).
/// </summary>
internal readonly record struct StringLexer(bool Escape, byte Hex, byte Utf8Left, byte NextMin, byte NextMax, int Length, bool Counting, int Points = 0)
{
    public static StringLexer Start(bool counting) => new(false, 0, 0, 0x80, 0xBF, 0, counting);

    /// <summary>UTF-16 code units of the character a byte starts: two for a 4-byte UTF-8 sequence (beyond the BMP).</summary>
    public static int Units(byte lead) => lead >= 0xF0 ? 2 : 1;

    /// <summary>The state after <paramref name="b"/>, or false if <paramref name="b"/> cannot come next; <paramref name="closed"/>: it was the closing quote.</summary>
    public bool TryStep(byte b, int maxLength, out StringLexer next, out bool closed)
    {
        closed = false;
        next = this;
        if (Utf8Left > 0)
        {
            if (b < NextMin || b > NextMax) return false;
            next = this with { Utf8Left = (byte)(Utf8Left - 1), NextMin = 0x80, NextMax = 0xBF };
            return true;
        }
        if (Escape)
        {
            if (b == 'u')
            {
                next = this with { Escape = false, Hex = 4 };
                return true;
            }
            if (b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
            {
                next = this with { Escape = false };
                return true;
            }
            return false;
        }
        if (Hex > 0)
        {
            // A first digit d/D would start a surrogate, which alone is not a character.
            if (!IsHex(b) || (Hex == 4 && b is (byte)'d' or (byte)'D')) return false;
            next = this with { Hex = (byte)(Hex - 1) };
            return true;
        }
        if (b == '"')
        {
            closed = true;
            return true;
        }
        if (b < 0x20) return false;
        if (Counting && Length + Units(b) > maxLength) return false;
        var (length, points) = Counting ? (Length + Units(b), Points + 1) : (Length, Points);
        if (b == '\\')
        {
            next = this with { Escape = true, Length = length, Points = points };
            return true;
        }
        if (b < 0x80)
        {
            if (Counting) next = this with { Length = length, Points = points };
            return true;
        }
        (int Left, byte Min, byte Max) lead = b switch
        {
            >= 0xC2 and <= 0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xED => (2, 0x80, 0x9F),
            >= 0xE1 and <= 0xEF => (2, 0x80, 0xBF),
            0xF0 => (3, 0x90, 0xBF),
            >= 0xF1 and <= 0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => (0, 0, 0),
        };
        if (lead.Left == 0) return false;
        next = this with { Utf8Left = (byte)lead.Left, NextMin = lead.Min, NextMax = lead.Max, Length = length, Points = points };
        return true;
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
}
