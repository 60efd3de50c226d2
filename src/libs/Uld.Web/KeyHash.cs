using System.Security.Cryptography;
using System.Text;

namespace Uld.Web;

/// <summary>
/// Secrets (the Gateway's API keys, LogitServer's admin key) are configured as the lowercase hex sha256 of the key,
/// never the key itself, and presented as <c>Authorization: Bearer &lt;key&gt;</c>.
/// </summary>
public static class KeyHash
{
    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Whether <paramref name="value"/> has the form of a configured hash: 64 hex digits.</summary>
    public static bool IsSha256Hex(string? value) => value is { Length: 64 } && value.All(Uri.IsHexDigit);

    /// <summary>Whether <paramref name="presentedKey"/> hashes to <paramref name="sha256Hex"/>, compared in constant time.</summary>
    public static bool Matches(string presentedKey, string sha256Hex) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sha256Hex(presentedKey)), Encoding.ASCII.GetBytes(sha256Hex.ToLowerInvariant()));

    /// <summary>The key of an <c>Authorization: Bearer &lt;key&gt;</c> header; null when the header is absent, empty or another scheme.</summary>
    public static string? BearerToken(string? header) =>
        header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header[7..].Trim() is { Length: > 0 } key ? key : null;
}
