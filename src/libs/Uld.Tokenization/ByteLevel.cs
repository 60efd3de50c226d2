using System.Text.RegularExpressions;

namespace Uld.Tokenization;

/// <summary>
/// GPT-2's byte-level conventions, shared by the tokenizer trainer and loader: every byte maps to a printable
/// character (so a vocabulary of strings covers arbitrary bytes), and text is pre-split into word-like pieces.
/// </summary>
public static partial class ByteLevel
{
    /// <summary>byte → char: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards (GPT-2's table).</summary>
    public static IReadOnlyList<char> ByteToChar { get; } = BuildTable();

    /// <summary>GPT-2's pre-tokenizer: contractions, letters, numbers, other symbols, each with one optional leading space.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    public static partial Regex PreTokenizer();

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
