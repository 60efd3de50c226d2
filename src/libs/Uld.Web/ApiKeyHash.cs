using System.Security.Cryptography;
using System.Text;

namespace Uld.Web;

/// <summary>
/// How every component stores and compares secret keys (the gateway's API keys, the forget service's admin keys):
/// configuration holds the lowercase hex sha256 of a key, never the key, and a presented key is hashed before lookup.
/// </summary>
public static class ApiKeyHash
{
    public static string Of(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>64 hex digits: a configured value that is a hash, not a key pasted by mistake.</summary>
    public static bool IsWellFormed(string? hash) => hash is { Length: 64 } && hash.All(Uri.IsHexDigit);

    /// <summary>The key of an <c>Authorization: Bearer &lt;key&gt;</c> header, or null when there is none.</summary>
    public static string? Bearer(string? header) =>
        header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header[7..].Trim() is { Length: > 0 } key ? key : null;
}
