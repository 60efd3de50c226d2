using Uld.Core.Tokenization;

namespace Uld.LogitServer.Api;

/// <summary>
/// Turns a stream of token ids into text deltas: decodes the whole generation each time (so multi-token UTF-8
/// characters and SentencePiece spaces come out right), holds back an incomplete character and any tail that could
/// be the start of a stop string, and cuts the text at the first stop string, which is not included.
/// </summary>
public sealed class TextAssembler(ModelTokenizer tokenizer, IReadOnlyList<string> stops, int? contextToken = null)
{
    private readonly List<int> _tokens = contextToken is { } c ? [c] : [];
    private readonly int _contextLength = contextToken is { } c ? tokenizer.Decode([c]).Length : 0;
    private int _emitted;

    /// <summary>All text decided so far.</summary>
    public string Text { get; private set; } = "";
    public bool Stopped { get; private set; }

    /// <summary>Adds a token; returns the new text safe to send (possibly empty).</summary>
    public string Add(int token)
    {
        if (Stopped) return "";
        _tokens.Add(token);
        var text = tokenizer.Decode(_tokens)[_contextLength..];
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                Stopped = true;
                text = text[..at];
            }
        }
        if (!Stopped)
        {
            if (text.EndsWith('\uFFFD')) return ""; // the rest of a multi-byte character is still to come
            text = text[..(text.Length - HeldBack(text))];
        }
        return Publish(text);
    }

    /// <summary>At the end of generation: whatever was held back for a stop string that never completed.</summary>
    public string Flush() => Stopped ? "" : Publish(tokenizer.Decode(_tokens)[_contextLength..]);

    private string Publish(string text)
    {
        if (text.Length <= _emitted) return "";
        var delta = text[_emitted..];
        _emitted = text.Length;
        Text = text;
        return delta;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that begins some stop string.</summary>
    private int HeldBack(string text)
    {
        var held = 0;
        foreach (var stop in stops)
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
