using Uld.Tokenization;


namespace Uld.LogitServer.Streaming;

/// <summary>
/// Turns a stream of token ids into text deltas. Each new token is decoded together with a few tokens before it and
/// the text of those alone is subtracted — so SentencePiece spaces and multi-token UTF-8 characters come out right
/// at constant cost per token (decoding the whole generation each time would be quadratic). An incomplete character
/// and any tail that could begin a stop string are held back; the text is cut at the first stop string, which is
/// not included.
/// </summary>
public sealed class TextAssembler
{
    /// <summary>Context tokens decoded with each new one; enough for the longest UTF-8 character split into byte tokens.</summary>
    private const int Window = 6;

    private readonly ModelTokenizer _tokenizer;
    private readonly IReadOnlyList<string> _stops;
    private readonly int _longestStop;
    private readonly List<int> _tokens = [];
    private readonly System.Text.StringBuilder _text = new();
    /// <summary>Tokens [_decodedUpTo..] are not yet part of <see cref="_text"/> (an incomplete character).</summary>
    private int _decodedUpTo;
    private int _emitted;

    public TextAssembler(ModelTokenizer tokenizer, IReadOnlyList<string> stops, int? contextToken = null)
    {
        _tokenizer = tokenizer;
        _stops = stops;
        _longestStop = stops.Count == 0 ? 0 : stops.Max(s => s.Length);
        if (contextToken is { } c)
        {
            _tokens.Add(c);
            _decodedUpTo = 1;
        }
    }

    /// <summary>All text decided so far.</summary>
    public string Text => _text.ToString(0, _emitted);
    public bool Stopped { get; private set; }

    /// <summary>Adds a token; returns the new text safe to send (possibly empty).</summary>
    public string Add(int token)
    {
        if (Stopped) return "";
        _tokens.Add(token);
        var start = Math.Max(0, _decodedUpTo - Window);
        var context = _decodedUpTo == start ? "" : _tokenizer.Decode(_tokens.GetRange(start, _decodedUpTo - start), skipSpecialTokens: true);
        var withNew = _tokenizer.Decode(_tokens.GetRange(start, _tokens.Count - start), skipSpecialTokens: true);
        if (withNew.EndsWith('\uFFFD')) return ""; // the rest of a multi-byte character is still to come
        var searchFrom = Math.Max(0, _text.Length - _longestStop + 1);
        _text.Append(withNew.AsSpan(Math.Min(context.Length, withNew.Length)));
        _decodedUpTo = _tokens.Count;

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
