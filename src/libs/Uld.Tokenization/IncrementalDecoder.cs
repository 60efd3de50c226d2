using System.Text;

namespace Uld.Tokenization;

/// <summary>
/// Detokenizes a stream one token at a time. Bytes of a character split over several tokens (byte-level BPE, byte
/// fallback) are held back until the character is complete, so no half character is ever emitted, and the
/// concatenation of every <see cref="Push"/> plus <see cref="Flush"/> equals <see cref="ModelTokenizer.Decode"/> of
/// the whole sequence.
/// </summary>
public sealed class IncrementalDecoder
{
    private readonly ModelTokenizer _tokenizer;
    private readonly Decoder _utf8 = ModelTokenizer.Utf8.GetDecoder();
    private bool _leadingSpacePending;

    public IncrementalDecoder(ModelTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _leadingSpacePending = tokenizer.StripsLeadingSpace;
    }

    /// <summary>The text that became complete with this token (possibly empty).</summary>
    public string Push(int id) => Emit(_tokenizer.TokenBytes(id), flush: false);

    /// <summary>What is left at the end: replacement characters for an unfinished UTF-8 sequence, or nothing.</summary>
    public string Flush() => Emit([], flush: true);

    private string Emit(ReadOnlySpan<byte> bytes, bool flush)
    {
        var chars = new char[_utf8.GetCharCount(bytes, flush)];
        var count = _utf8.GetChars(bytes, chars, flush);
        var text = new string(chars, 0, count);
        if (_leadingSpacePending && text.Length > 0)
        {
            _leadingSpacePending = false;
            if (text[0] == ' ') text = text[1..];
        }
        return text;
    }
}
