using System.Text;
using Uld.Contracts.OpenAi;
using Uld.Tokenization;

namespace Uld.LogitServer.Tools;

/// <summary>
/// One streamed choice of a request with tools: its text goes out as content while it cannot be (the start of) a
/// call, and is held from where a call may begin — Qwen's &lt;tool_call&gt; tag, or for Llama 3's bare-JSON calls an
/// answer that opens with <c>{</c> — until the choice ends and the whole answer says what it is.
/// </summary>
public sealed class ToolCallStream(ToolCallFormat format)
{
    private const string HermesMarker = "<tool_call>";
    private const string PythonTag = "<|python_tag|>";

    private readonly StringBuilder _text = new();
    private int _sent;
    private bool _holding;

    /// <summary>Adds generated text; returns the content that may be sent now (possibly empty).</summary>
    public string Add(string delta)
    {
        _text.Append(delta);
        if (_holding) return "";
        var text = _text.ToString();
        var safe = text.Length;
        if (format == ToolCallFormat.Hermes)
        {
            var at = text.IndexOf(HermesMarker, StringComparison.Ordinal);
            if (at >= 0) (_holding, safe) = (true, at);
            else safe -= PartialMarker(text, HermesMarker);
        }
        else if (format == ToolCallFormat.LlamaJson)
        {
            // A call is the whole answer: leading whitespace waits for the first character that decides.
            var start = text.AsSpan().TrimStart();
            if (start.IsEmpty) safe = _sent;
            else if (start[0] == '{' || start.StartsWith(PythonTag) || PythonTag.AsSpan().StartsWith(start)) (_holding, safe) = (true, _sent);
        }
        safe = Math.Max(safe, _sent);
        var content = text[_sent..safe];
        _sent = safe;
        return content;
    }

    /// <summary>At the end: the calls in the whole answer and the content not sent yet (null when none is left).</summary>
    public (string? Content, IReadOnlyList<ToolCall> Calls) Finish()
    {
        var rest = _text.ToString()[_sent..];
        var (content, calls) = ToolCallParser.Parse(rest, format);
        if (calls.Count == 0) return (rest.Length > 0 ? rest : null, []);
        return (content, calls);
    }

    /// <summary>Length of the longest end of <paramref name="text"/> that begins <paramref name="marker"/>.</summary>
    private static int PartialMarker(string text, string marker)
    {
        for (var n = Math.Min(marker.Length - 1, text.Length); n > 0; n--)
        {
            if (text.AsSpan(text.Length - n).SequenceEqual(marker.AsSpan(0, n))) return n;
        }
        return 0;
    }
}
