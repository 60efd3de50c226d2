using Microsoft.Extensions.Options;
using Uld.Web;

namespace Uld.Gateway.Security;

/// <summary>Looks keys up by their sha256; configuration holds only hashes (validated by GatewayOptionsValidator).</summary>
public sealed class ApiKeyStore(IOptions<GatewayOptions> options)
{
    /// <summary>Used when <see cref="GatewayOptions.RequireApiKey"/> is off.</summary>
    public static readonly ApiKeyOptions Anonymous = new() { Name = "anonymous", RequestsPerMinute = 6000 };

    private readonly Dictionary<string, ApiKeyOptions> _byHash =
        options.Value.ApiKeys.ToDictionary(k => k.Sha256, StringComparer.OrdinalIgnoreCase);

    public static string Hash(string key) => KeyHash.Sha256Hex(key);

    public ApiKeyOptions? Find(string presentedKey) => _byHash.GetValueOrDefault(Hash(presentedKey));
}
