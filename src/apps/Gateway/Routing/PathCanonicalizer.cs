namespace Uld.Gateway.Routing;

/// <summary>
/// One spelling per path: percent-decoded exactly once, lower-cased, without empty segments (duplicate or trailing
/// slashes) and with dot segments resolved. Routing on this form means no spelling of a routed path can miss its
/// policy; a result that still holds a '%' (double encoding) or control characters matches nothing.
/// </summary>
public static class PathCanonicalizer
{
    /// <summary>The canonical form of the path of a request target ("/V1//chat/./Completions/?x=1" → "/v1/chat/completions").</summary>
    public static string Canonicalize(string rawPath)
    {
        var query = rawPath.IndexOfAny(['?', '#']);
        var path = query >= 0 ? rawPath[..query] : rawPath;
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
            return "";
        }
        if (decoded.Any(c => char.IsControl(c) || c == '%')) return "";

        var segments = new List<string>();
        foreach (var segment in decoded.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".") continue;
            if (segment == "..")
            {
                if (segments.Count > 0) segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(segment.ToLowerInvariant());
        }
        return "/" + string.Join('/', segments);
    }
}
