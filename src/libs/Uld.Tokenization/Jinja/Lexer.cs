using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Uld.Tokenization.Jinja;

public enum TokenKind { Text, OpenExpression, CloseExpression, OpenStatement, CloseStatement, Name, String, Integer, Float, Operator, End }

public readonly record struct Token(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits a template into text and tag tokens. Whitespace handling is that of Hugging Face's chat templating
/// (trim_blocks and lstrip_blocks on, one trailing newline dropped, '-' inside a tag strips the whitespace beside it),
/// which is what makes a rendered prompt byte-identical to apply_chat_template's.
/// </summary>
public static partial class Lexer
{
    private static readonly string[] Operators = ["//", "==", "!=", "<=", ">=", "**", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    [GeneratedRegex(@"^[ \t]*(\{[#%-])", RegexOptions.Multiline)]
    private static partial Regex LstripBlocks();

    [GeneratedRegex(@"([#%-]\})\n")]
    private static partial Regex TrimBlocks();

    public static List<Token> Tokenize(string template)
    {
        if (template.EndsWith('\n')) template = template[..^1];
        template = TrimBlocks().Replace(LstripBlocks().Replace(template, "$1"), "$1");

        var tokens = new List<Token>();
        var position = 0;
        var line = 1;
        var stripNextText = false;
        while (position < template.Length)
        {
            var open = NextTagStart(template, position);
            var text = template[position..(open < 0 ? template.Length : open)];
            if (stripNextText) text = text.TrimStart();
            stripNextText = false;
            var stripThisText = open >= 0 && open + 2 < template.Length && template[open + 2] == '-';
            if (stripThisText) text = text.TrimEnd();
            if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text, line));
            line += template.AsSpan(position, (open < 0 ? template.Length : open) - position).Count('\n');
            if (open < 0) break;

            var kind = template[open + 1];
            position = open + 2 + (stripThisText ? 1 : 0);
            if (kind == '#')
            {
                var close = template.IndexOf("#}", position, StringComparison.Ordinal);
                if (close < 0) throw new JinjaException($"line {line}: unclosed comment.");
                stripNextText = template[close - 1] == '-';
                line += template.AsSpan(position, close - position).Count('\n');
                position = close + 2;
                continue;
            }
            var isStatement = kind == '%';
            tokens.Add(new Token(isStatement ? TokenKind.OpenStatement : TokenKind.OpenExpression, "", line));
            (position, stripNextText) = LexTag(template, position, isStatement ? '%' : '}', tokens, ref line);
            tokens.Add(new Token(isStatement ? TokenKind.CloseStatement : TokenKind.CloseExpression, "", line));
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    private static int NextTagStart(string template, int from)
    {
        for (var i = template.IndexOf('{', from); i >= 0 && i + 1 < template.Length; i = template.IndexOf('{', i + 1))
        {
            if (template[i + 1] is '{' or '%' or '#') return i;
        }
        return -1;
    }

    /// <summary>Lexes one tag's contents up to its closing "}}" or "%}"; returns the position after it and whether it ended with '-'.</summary>
    private static (int Position, bool StripAfter) LexTag(string s, int i, char closer, List<Token> tokens, ref int line)
    {
        var braceDepth = 0;
        while (true)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i]))
            {
                if (s[i] == '\n') line++;
                i++;
            }
            if (i >= s.Length) throw new JinjaException($"line {line}: unclosed tag.");
            if (braceDepth == 0 && s[i] == '-' && i + 2 < s.Length && s[i + 1] == closer && s[i + 2] == '}') return (i + 3, true);
            if (braceDepth == 0 && s[i] == closer && i + 1 < s.Length && s[i + 1] == '}') return (i + 2, false);

            var c = s[i];
            if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Name, s[start..i], line));
            }
            else if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                var isFloat = i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]);
                if (isFloat)
                {
                    i++;
                    while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, s[start..i], line));
            }
            else if (c is '\'' or '"')
            {
                i = LexString(s, i, tokens, line);
            }
            else
            {
                var op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, o.Length) == 0)
                         ?? throw new JinjaException($"line {line}: unexpected character '{c}'.");
                braceDepth += op == "{" ? 1 : op == "}" ? -1 : 0;
                tokens.Add(new Token(TokenKind.Operator, op, line));
                i += op.Length;
            }
        }
    }

    private static int LexString(string s, int i, List<Token> tokens, int line)
    {
        var quote = s[i++];
        var value = new StringBuilder();
        while (true)
        {
            if (i >= s.Length) throw new JinjaException($"line {line}: unterminated string.");
            var c = s[i++];
            if (c == quote) break;
            if (c != '\\')
            {
                value.Append(c);
                continue;
            }
            if (i >= s.Length) throw new JinjaException($"line {line}: unterminated string.");
            var e = s[i++];
            switch (e)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'v': value.Append('\v'); break;
                case '0': value.Append('\0'); break;
                case 'u' when i + 4 <= s.Length:
                    value.Append((char)int.Parse(s.AsSpan(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                case '\\' or '\'' or '"': value.Append(e); break;
                default: value.Append('\\').Append(e); break; // Python keeps unknown escapes as written
            }
        }
        tokens.Add(new Token(TokenKind.String, value.ToString(), line));
        return i;
    }
}
