using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Uld.Contracts.Admin;

/// <summary>
/// LogitServer's admin API, which loads, replaces and unloads deployments while the server runs
/// (docs/DESIGN.md, *Runtime deployments*). Every call carries <c>Authorization: Bearer &lt;admin key&gt;</c>.
/// <list type="bullet">
/// <item><c>GET /admin/deployments</c> → <see cref="DeployedList"/>.</item>
/// <item><c>PUT /admin/deployments/{name}</c> with one <c>LogitServer:Deployments</c> entry as the body (the same keys
/// as in deployments.json) → <see cref="DeployedVersion"/>: 201 when the name is new, 200 when it replaced a version.
/// The new version is loaded and verified before it is swapped in; requests already running finish on the old one.</item>
/// <item><c>DELETE /admin/deployments/{name}</c> → 204 once no new request can reach it; running requests finish.</item>
/// </list>
/// </summary>
public static class AdminRoutes
{
    public const string Deployments = "/admin/deployments";

    public static string Deployment(string name) => $"{Deployments}/{Uri.EscapeDataString(name)}";
}

/// <summary>One deployment as a replica serves it now.</summary>
/// <param name="Name">What clients pass as <c>model</c>.</param>
/// <param name="Version">1 when first loaded (from the configuration or the admin API), +1 at every replacement.</param>
/// <param name="Kind">The deployment kind (Plain, Uld, Offset).</param>
/// <param name="Spec">The deployments.json entry this version was loaded from.</param>
/// <param name="ModelSha256">Per role (base, assistant, assistant.1, …, model, reference, unlearned): the sha256 of the
/// role's ONNX model file as loaded — what an audit record names as "the model files".</param>
/// <param name="LoadedAt">When this version started serving.</param>
/// <param name="LoadSeconds">Opening, verifying and creating the sessions of this version.</param>
public sealed record DeployedVersion(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("spec")] JsonObject Spec,
    [property: JsonPropertyName("model_sha256")] IReadOnlyDictionary<string, string> ModelSha256,
    [property: JsonPropertyName("loaded_at")] DateTimeOffset LoadedAt,
    [property: JsonPropertyName("load_seconds")] double LoadSeconds);

/// <summary>The answer of <c>GET /admin/deployments</c>.</summary>
public sealed record DeployedList([property: JsonPropertyName("data")] IReadOnlyList<DeployedVersion> Data);
