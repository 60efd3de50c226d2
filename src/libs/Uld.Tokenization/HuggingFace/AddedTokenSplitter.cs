namespace Uld.Tokenization.HuggingFace;

/// <summary>One piece of input text: either an added token (special or not) or plain text for the model.</summary>
public readonly record struct TextSegment(string Text, int? AddedTokenId);

/// <summary>
/// Finds tokenizer.json's <c>added_tokens</c> in raw text before anything else runs, as Hugging Face tokenizers do:
/// at each position the longest added token wins, and the text between matches goes to the model. This is why
/// "&lt;|eot_id|&gt;" typed in a prompt becomes the special id, while "&lt;|EOT_ID|&gt;" or "&lt;|eot_id" stay text.
/// </summary>
public sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<(string Content, int Id)> addedTokens)
    {
        _byFirstChar = addedTokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public IEnumerable<TextSegment> Split(string text)
    {
        var plainStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            var match = MatchAt(text, i);
            if (match is not { } token)
            {
                i++;
                continue;
            }
            if (i > plainStart) yield return new TextSegment(text[plainStart..i], null);
            yield return new TextSegment(token.Content, token.Id);
            i += token.Content.Length;
            plainStart = i;
        }
        if (plainStart < text.Length) yield return new TextSegment(text[plainStart..], null);
    }

    private (string Content, int Id)? MatchAt(string text, int position)
    {
        if (!_byFirstChar.TryGetValue(text[position], out var candidates)) return null;
        foreach (var candidate in candidates)
        {
            if (string.CompareOrdinal(text, position, candidate.Content, 0, candidate.Content.Length) == 0) return candidate;
        }
        return null;
    }
}
