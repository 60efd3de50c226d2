using System.Collections.Concurrent;

namespace Uld.Inference.Constraints;

/// <summary>
/// A tokenizer's vocabulary as the byte strings tokens add to the text, precomputed once per tokenizer for
/// constrained decoding: a trie in preorder (so one step of the automaton per trie node decides every token sharing
/// that prefix, and a rejected node skips its whole subtree), a second trie of the tokens that can end a string or
/// start an escape, and — cached as they are first needed — the masks of tokens that stay inside a string, which
/// depend on nothing but the string's UTF-8 state and, under maxLength, the characters a token adds
/// (docs/DESIGN.md, *Structured output*).
/// </summary>
public sealed class TokenVocabulary
{
    private readonly byte[][] _bytes;
    private readonly Trie _all;
    /// <summary>Tokens whose bytes hold a quote or a backslash: the only ones that can leave a string's content.</summary>
    private readonly Trie _stringExits;
    private readonly ulong[] _stringExitBits;
    private readonly ConcurrentDictionary<StringLexer, ulong[]> _inStringMasks = new();
    /// <summary>UTF-16 code units each token adds inside a string (what maxLength bounds, <see cref="StringLexer"/>).</summary>
    private readonly int[] _characters;
    private readonly int _longestToken;
    private readonly ConcurrentDictionary<int, ulong[]> _atMostCharacters = new();

    /// <param name="tokenBytes">Each id's bytes; ids that are <paramref name="excluded"/> or empty are never allowed by a grammar.</param>
    public TokenVocabulary(IReadOnlyList<byte[]> tokenBytes, Func<int, bool> excluded)
    {
        Size = tokenBytes.Count;
        _bytes = [.. tokenBytes];
        var ids = Enumerable.Range(0, Size).Where(id => !excluded(id) && _bytes[id].Length > 0).ToArray();
        _all = new Trie(_bytes, ids);
        var exits = ids.Where(id => _bytes[id].AsSpan().IndexOfAny((byte)'"', (byte)'\\') >= 0).ToArray();
        _stringExits = new Trie(_bytes, exits);
        _stringExitBits = new ulong[Words];
        foreach (var id in exits) Set(_stringExitBits, id);
        _characters = _bytes.Select(b => b.Where(x => x is < 0x80 or >= 0xC0).Sum(StringLexer.Units)).ToArray();
        _longestToken = _characters.Length == 0 ? 0 : _characters.Max();
    }

    /// <summary>Number of token ids (the tokenizer's vocabulary).</summary>
    public int Size { get; }
    public int TrieNodes => _all.Nodes;
    /// <summary>Words of a mask over <see cref="Size"/> ids.</summary>
    public int Words => (Size + 63) / 64;

    public ReadOnlySpan<byte> Bytes(int id) => id >= 0 && id < Size ? _bytes[id] : [];

    /// <summary>The tokens whose bytes can follow <paramref name="state"/> (EOS and other excluded tokens never in it).</summary>
    public ulong[] AllowedTokens(GrammarState state)
    {
        if (state.StringContent is var (lexer, charactersLeft))
        {
            // Inside a string only tokens with a quote or a backslash depend on more than the string's own UTF-8
            // state — and, under maxLength, on how many characters each token adds.
            var mask = (ulong[])_inStringMasks.GetOrAdd(lexer, InStringMask).Clone();
            if (charactersLeft < _longestToken)
            {
                var fitting = AtMostCharacters(charactersLeft);
                for (var w = 0; w < mask.Length; w++) mask[w] &= fitting[w];
            }
            _stringExits.Walk(state, mask);
            return mask;
        }
        var all = new ulong[Words];
        _all.Walk(state, all);
        return all;
    }

    /// <summary>Tokens of at most <paramref name="characters"/> characters, cached per count.</summary>
    private ulong[] AtMostCharacters(int characters) => _atMostCharacters.GetOrAdd(Math.Max(0, characters), n =>
    {
        var mask = new ulong[Words];
        for (var id = 0; id < Size; id++)
        {
            if (_characters[id] <= n) Set(mask, id);
        }
        return mask;
    });

    private ulong[] InStringMask(StringLexer lexer)
    {
        var mask = new ulong[Words];
        _all.Walk(new GrammarState([FrameStack.Empty.Push(new StringFrame(lexer, SchemaNode.AnyValue))]), mask);
        for (var w = 0; w < mask.Length; w++) mask[w] &= ~_stringExitBits[w];
        return mask;
    }

    private static void Set(ulong[] mask, int id) => mask[id >> 6] |= 1UL << (id & 63);

    public static bool IsSet(ulong[] mask, int id) => id >= 0 && id >> 6 < mask.Length && (mask[id >> 6] & (1UL << (id & 63))) != 0;

    /// <summary>A trie of some tokens' bytes, node 0 the root, nodes in preorder.</summary>
    private sealed class Trie
    {
        // The byte on the edge into a node, its depth, the end of its subtree (exclusive), and the range of
        // _tokens ending exactly there (node i's run up to node i + 1's start).
        private readonly byte[] _edge;
        private readonly int[] _depth;
        private readonly int[] _subtreeEnd;
        private readonly int[] _tokenStart;
        private readonly int[] _tokens;
        private readonly int _maxDepth;

        public Trie(byte[][] bytes, int[] ids)
        {
            ids = [.. ids];
            Array.Sort(ids, (a, b) => bytes[a].AsSpan().SequenceCompareTo(bytes[b]) is var c && c != 0 ? c : a.CompareTo(b));
            var edge = new List<byte> { 0 };
            var depth = new List<int> { 0 };
            var tokenStart = new List<int> { 0 };
            var tokens = new List<int>(ids.Length);
            byte[] previous = [];
            foreach (var id in ids)
            {
                var current = bytes[id];
                // Sorted order: a token comes right after the nodes of its bytes are made, or after its same-bytes twins.
                for (var d = current.AsSpan().CommonPrefixLength(previous); d < current.Length; d++)
                {
                    edge.Add(current[d]);
                    depth.Add(d + 1);
                    tokenStart.Add(tokens.Count);
                }
                tokens.Add(id);
                previous = current;
            }
            (_edge, _depth, _tokens, _maxDepth) = ([.. edge], [.. depth], [.. tokens], depth.Max());
            _tokenStart = [.. tokenStart, tokens.Count];
            _subtreeEnd = new int[_edge.Length];
            var open = new Stack<int>();
            for (var i = 0; i < _edge.Length; i++)
            {
                while (open.Count > 0 && _depth[open.Peek()] >= _depth[i]) _subtreeEnd[open.Pop()] = i;
                open.Push(i);
            }
            while (open.Count > 0) _subtreeEnd[open.Pop()] = _edge.Length;
        }

        public int Nodes => _edge.Length;

        /// <summary>Sets in <paramref name="mask"/> every token whose bytes <paramref name="root"/> admits; a rejected node prunes its subtree.</summary>
        public void Walk(GrammarState root, ulong[] mask)
        {
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
        }
    }
}
