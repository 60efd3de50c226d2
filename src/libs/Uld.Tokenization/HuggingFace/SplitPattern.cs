using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Uld.Tokenization.HuggingFace;

/// <summary>
/// A tokenizer.json <c>Split</c> pre-tokenizer (behavior "Isolated": matches and the gaps between them are both
/// pieces). Hugging Face matches these patterns on code points, .NET's Regex on UTF-16 units, where a letter outside
/// the BMP (CJK extension B, mathematical letters) is two surrogates that <c>\p{L}</c> does not match. So the
/// pattern runs on a stand-in string with one char per code point: BMP chars as they are, every other code point as
/// a BMP char of the same class for these patterns (letter, number, other). Offsets then map back to the text.
/// </summary>
public sealed class SplitPattern
{
    private readonly Regex _regex;

    public SplitPattern(Regex regex) => _regex = regex;

    public static SplitPattern FromTokenizerJson(string pattern) =>
        new(new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled));

    public IEnumerable<string> Split(string text)
    {
        var (standIn, starts) = StandIn(text);
        var last = 0;
        foreach (Match m in _regex.Matches(standIn))
        {
            if (m.Length == 0) continue;
            if (m.Index > last) yield return Slice(text, starts, last, m.Index);
            yield return Slice(text, starts, m.Index, m.Index + m.Length);
            last = m.Index + m.Length;
        }
        if (last < standIn.Length) yield return Slice(text, starts, last, standIn.Length);
    }

    private static string Slice(string text, int[] starts, int from, int to) => text[starts[from]..starts[to]];

    /// <summary>The one-char-per-code-point string and, per stand-in index, where that code point starts in the text (plus the end).</summary>
    private static (string StandIn, int[] Starts) StandIn(string text)
    {
        var standIn = new StringBuilder(text.Length);
        var starts = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            starts.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                standIn.Append(AstralStandIn(char.ConvertToUtf32(text[i], text[i + 1])));
                i++;
            }
            else
            {
                standIn.Append(text[i]);
            }
        }
        starts.Add(text.Length);
        return (standIn.ToString(), starts.ToArray());
    }

    private static char AstralStandIn(int codePoint) => CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => 'a',
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => '0',
        _ => '#', // symbols (emoji), marks and everything else: neither letter, number, space nor a contraction's quote
    };
}
