using Uld.Tokenization;


namespace Uld.LogitServer.Streaming;

/// <summary>
/// Turns a stream of token ids into text deltas: the tokenizer's <see cref="IncrementalDecoder"/> decodes each token
/// once (its bytes join a streaming UTF-8 decoder, so a character split over several tokens comes out whole when its
/// last byte arrives, and SentencePiece's leading space is dropped only at the very start), special tokens are
/// skipped as in the final text, any tail that could begin a stop string is held back, and the text is cut at the
/// first stop string, which is not included.
/// </summary>
public sealed class TextAssembler
{
    private readonly ModelTokenizer _tokenizer;
    private readonly IncrementalDecoder _decoder;
    private readonly IReadOnlyList<string> _stops;
    private readonly int _longestStop;
    private readonly System.Text.StringBuilder _text = new();
    private int _emitted;

    /// <param name="contextToken">
    /// The prompt's last token, for a completion that continues it: decoded first and not emitted, so the first
    /// generated token keeps its leading space (a completion is not the start of a text).
    /// </param>
    public TextAssembler(ModelTokenizer tokenizer, IReadOnlyList<string> stops, int? contextToken = null)
    {
        _tokenizer = tokenizer;
        _decoder = tokenizer.CreateIncrementalDecoder();
        _stops = stops;
        _longestStop = stops.Count == 0 ? 0 : stops.Max(s => s.Length);
        if (contextToken is { } c && !tokenizer.IsSpecial(c)) _decoder.Push(c);
    }

    /// <summary>All text decided so far.</summary>
    public string Text => _text.ToString(0, _emitted);
    public bool Stopped { get; private set; }

    /// <summary>Adds a token; returns the new text safe to send (possibly empty).</summary>
    public string Add(int token)
    {
        if (Stopped || _tokenizer.IsSpecial(token)) return "";
        var added = _decoder.Push(token);
        if (added.Length == 0) return ""; // the rest of a multi-byte character is still to come
        var searchFrom = Math.Max(0, _text.Length - _longestStop + 1);
        _text.Append(added);

        var visible = _text.Length;
        if (_stops.Count > 0)
        {
            var tail = _text.ToString(searchFrom, _text.Length - searchFrom);
            foreach (var stop in _stops)
            {
                var at = tail.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0 && (!Stopped || searchFrom + at < visible))
                {
                    Stopped = true;
                    visible = searchFrom + at;
                }
            }
            if (!Stopped) visible -= HeldBack(tail);
        }
        return Publish(visible);
    }

    /// <summary>At the end of generation: whatever was held back for a stop string that never completed.</summary>
    public string Flush() => Stopped ? "" : Publish(_text.Length);

    private string Publish(int visible)
    {
        if (visible <= _emitted) return "";
        var delta = _text.ToString(_emitted, visible - _emitted);
        _emitted = visible;
        return delta;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that begins some stop string.</summary>
    private int HeldBack(string text)
    {
        var held = 0;
        foreach (var stop in _stops)
        {
            for (var n = Math.Min(stop.Length - 1, text.Length); n > held; n--)
            {
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    held = n;
                    break;
                }
            }
        }
        return held;
    }
}
