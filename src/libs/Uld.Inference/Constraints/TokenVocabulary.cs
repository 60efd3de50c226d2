using System.Collections.Concurrent;

namespace Uld.Inference.Constraints;

/// <summary>
/// A tokenizer's vocabulary as the byte strings tokens add to the text, precomputed once per tokenizer for
/// constrained decoding: a trie in preorder (so one step of the automaton per trie node decides every token sharing
/// that prefix, and a rejected node skips its whole subtree), the tokens that can end a string or start an escape, and
/// — cached as they are first needed — the masks of tokens that stay inside a string, which depend on nothing but the
/// string's UTF-8 state (docs/DESIGN.md, *Structured output*).
/// </summary>
public sealed class TokenVocabulary
{
    private readonly byte[][] _bytes;
    // The trie, node 0 the root, nodes in preorder: the byte on the edge into a node, its depth, the end of its
    // subtree (exclusive) and the range of _tokensByNode ending exactly there.
    private readonly byte[] _edge;
    private readonly int[] _depth;
    private readonly int[] _subtreeEnd;
    private readonly int[] _tokenStart;
    private readonly int[] _tokens;
    private readonly int _maxDepth;
    /// <summary>Tokens whose bytes hold a quote or a backslash: the only ones that can leave a string's content.</summary>
    private readonly int[] _stringExits;
    private readonly ulong[] _stringExitBits;
    private readonly ConcurrentDictionary<StringLexer, ulong[]> _inStringMasks = new();

    /// <param name="tokenBytes">Each id's bytes; ids that are <paramref name="excluded"/> or empty are never allowed by a grammar.</param>
    public TokenVocabulary(IReadOnlyList<byte[]> tokenBytes, Func<int, bool> excluded)
    {
        Size = tokenBytes.Count;
        _bytes = [.. tokenBytes];
        var ids = Enumerable.Range(0, Size).Where(id => !excluded(id) && _bytes[id].Length > 0).ToArray();
        Array.Sort(ids, (a, b) => _bytes[a].AsSpan().SequenceCompareTo(_bytes[b]) is var c && c != 0 ? c : a.CompareTo(b));

        var edge = new List<byte> { 0 };
        var depth = new List<int> { 0 };
        var tokenStart = new List<int> { 0 };
        var path = new List<int> { 0 }; // node at each depth along the current token's bytes
        var tokens = new List<int>(ids.Length);
        byte[] previous = [];
        foreach (var id in ids)
        {
            var bytes = _bytes[id];
            var common = bytes.AsSpan().CommonPrefixLength(previous);
            path.RemoveRange(common + 1, path.Count - common - 1);
            for (var d = common; d < bytes.Length; d++)
            {
                path.Add(edge.Count);
                edge.Add(bytes[d]);
                depth.Add(d + 1);
                tokenStart.Add(tokens.Count);
            }
            tokens.Add(id); // sorted order puts each token right after its node's creation or after same-bytes twins
            previous = bytes;
        }
        _edge = [.. edge];
        _depth = [.. depth];
        _tokens = [.. tokens];
        _maxDepth = depth.Max();
        // Tokens were appended in preorder of their end node, so node i's tokens run up to the next node's start.
        _tokenStart = [.. tokenStart, tokens.Count];
        _subtreeEnd = new int[_edge.Length];
        var open = new Stack<int>();
        for (var i = 0; i < _edge.Length; i++)
        {
            while (open.Count > 0 && _depth[open.Peek()] >= _depth[i]) _subtreeEnd[open.Pop()] = i;
            open.Push(i);
        }
        while (open.Count > 0) _subtreeEnd[open.Pop()] = _edge.Length;

        _stringExits = ids.Where(id => _bytes[id].AsSpan().IndexOfAny((byte)'"', (byte)'\\') >= 0).ToArray();
        _stringExitBits = new ulong[Words];
        foreach (var id in _stringExits) Set(_stringExitBits, id);
    }

    /// <summary>Number of token ids (the tokenizer's vocabulary).</summary>
    public int Size { get; }
    public int TrieNodes => _edge.Length;
    /// <summary>Words of a mask over <see cref="Size"/> ids.</summary>
    public int Words => (Size + 63) / 64;

    public ReadOnlySpan<byte> Bytes(int id) => id >= 0 && id < Size ? _bytes[id] : [];

    /// <summary>The tokens whose bytes can follow <paramref name="state"/> (EOS and other excluded tokens never in it).</summary>
    public ulong[] AllowedTokens(GrammarState state)
    {
        if (state.FreeStringContent is { } lexer)
        {
            // Inside a string only tokens with a quote or a backslash depend on more than the string's own state.
            var inString = _inStringMasks.GetOrAdd(lexer, l => InStringMask(l));
            var mask = (ulong[])inString.Clone();
            foreach (var id in _stringExits)
            {
                if (state.Step(_bytes[id]) is not null) Set(mask, id);
            }
            return mask;
        }
        return WalkTrie(state);
    }

    /// <summary>One pass over the trie: a node the automaton rejects prunes every token below it.</summary>
    private ulong[] WalkTrie(GrammarState root)
    {
        var mask = new ulong[Words];
        var states = new GrammarState?[_maxDepth + 1];
        states[0] = root;
        var node = 1;
        while (node < _edge.Length)
        {
            var next = states[_depth[node] - 1]!.Step(_edge[node]);
            if (next is null)
            {
                node = _subtreeEnd[node];
                continue;
            }
            states[_depth[node]] = next;
            for (var t = _tokenStart[node]; t < _tokenStart[node + 1]; t++) Set(mask, _tokens[t]);
            node++;
        }
        return mask;
    }

    private ulong[] InStringMask(StringLexer lexer)
    {
        var alone = new GrammarState([FrameStack.Empty.Push(new StringFrame(lexer, SchemaNode.AnyValue))]);
        var mask = WalkTrie(alone);
        for (var w = 0; w < mask.Length; w++) mask[w] &= ~_stringExitBits[w];
        return mask;
    }

    private static void Set(ulong[] mask, int id) => mask[id >> 6] |= 1UL << (id & 63);

    public static bool IsSet(ulong[] mask, int id) => id >= 0 && id >> 6 < mask.Length && (mask[id >> 6] & (1UL << (id & 63))) != 0;
}
