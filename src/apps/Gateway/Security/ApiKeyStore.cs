using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Uld.Gateway.Security;

/// <summary>Looks keys up by their sha256; configuration holds only hashes.</summary>
public sealed class ApiKeyStore
{
    /// <summary>Used when <see cref="GatewayOptions.RequireApiKey"/> is off.</summary>
    public static readonly ApiKeyOptions Anonymous = new() { Name = "anonymous", RequestsPerMinute = 6000 };

    private readonly Dictionary<string, ApiKeyOptions> _byHash;

    public ApiKeyStore(IOptions<GatewayOptions> options)
    {
        _byHash = new Dictionary<string, ApiKeyOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in options.Value.ApiKeys)
        {
            if (key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
                throw new InvalidOperationException($"API key '{key.Name}': Sha256 must be 64 hex digits (the hash of the key, never the key).");
            if (!_byHash.TryAdd(key.Sha256, key)) throw new InvalidOperationException($"API key '{key.Name}' is configured twice.");
        }
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public ApiKeyOptions? Find(string presentedKey) => _byHash.GetValueOrDefault(Hash(presentedKey));
}
