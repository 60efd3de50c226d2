using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Uld.LogitServer.Deployments.Kinds;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// A deployment's settings as JSON: one <c>LogitServer:Deployments</c> entry with the keys of deployments.json. The admin
/// API reads its bodies with it, the runtime deployments file stores it, and every served version reports the entry
/// it was loaded from. Reading is strict — a key no setting has, a value of the wrong JSON type, an unknown
/// <c>Kind</c> or <c>Rule</c> are refused naming the key — where the configuration binder would convert strings.
/// <c>Kind</c> is written as its kind spells it.
/// </summary>
public static class DeploymentSpec
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(allowIntegerValues: false) },
    };

    private static readonly JsonObject Defaults = JsonSerializer.SerializeToNode(new DeploymentOptions(), Options)!.AsObject();

    /// <summary>The settings of <paramref name="spec"/>; a malformed entry is a <see cref="DeploymentConfigurationException"/> naming the key.</summary>
    public static DeploymentOptions Read(JsonObject spec)
    {
        DeploymentOptions d;
        try
        {
            d = spec.Deserialize<DeploymentOptions>(Options) ?? throw new DeploymentConfigurationException("a deployment must be a JSON object.");
        }
        catch (JsonException e)
        {
            var key = e.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : null;
            var why = e.Message.IndexOf(" Path:", StringComparison.Ordinal) is var end and > 0 ? e.Message[..end] : e.Message;
            throw new DeploymentConfigurationException(key is null ? $"not a deployment: {why}" : $"invalid value for '{key}': {why}", e);
        }
        if (!DeploymentKinds.IsName(d.Kind))
            throw new DeploymentConfigurationException($"invalid value for 'Kind': \"{d.Kind}\" is not a deployment kind ({string.Join(", ", DeploymentKinds.Names)}).");
        return d;
    }

    /// <summary>
    /// The entry as JSON: <c>Name</c>, <c>Kind</c> and every setting that differs from its default, so that reading it
    /// back gives the same deployment and a listing shows what was chosen rather than every default.
    /// </summary>
    public static JsonObject Write(DeploymentOptions d)
    {
        var all = JsonSerializer.SerializeToNode(d, Options)!.AsObject();
        var spec = new JsonObject();
        foreach (var (key, value) in all)
        {
            var always = key is nameof(DeploymentOptions.Name) or nameof(DeploymentOptions.Kind);
            if (always || !JsonNode.DeepEquals(value, Defaults[key])) spec[key] = value?.DeepClone();
        }
        spec[nameof(DeploymentOptions.Kind)] = DeploymentKinds.Canonical(d.Kind);
        return spec;
    }
}
