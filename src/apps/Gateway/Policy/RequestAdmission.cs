using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Gateway.Experiments;
using Uld.Gateway.Routing;
using Uld.Web;

namespace Uld.Gateway.Policy;

/// <summary>A request the policy let through: where it goes and the exact body to send there.</summary>
/// <param name="RequestedModel">What the client named: a deployment or an experiment.</param>
/// <param name="Alpha">The α the replica will serve (null for plain deployments and non-generating routes).</param>
public sealed record AdmittedRequest(string RequestedModel, string Deployment, string Cluster, VariantOptions? Variant, double? Alpha, JsonObject Body)
{
    /// <summary>The β an offset deployment's replica will serve (null otherwise and for non-generating routes).</summary>
    public double? OffsetBeta { get; init; }
}

/// <summary>
/// The one policy decision for every request that reaches a replica (forwarded endpoints and each compare fan-out):
/// model allow-list, experiment resolution, the deployment's α and relative-top policy (or an offset deployment's β
/// policy) as its replicas list it, and the key's grants. For generating routes α and r (or β) are written into the body explicitly, so the replica serves exactly
/// the values that were checked even if its default changes before the next policy refresh.
/// </summary>
public sealed class RequestAdmission(ModelCatalog catalog, DeploymentPolicyRegistry policies)
{
    public const string AlphaField = "uld_alpha";
    public const string RelativeTopField = "uld_relative_top";

    /// <summary>Fields the policy reads; a spelling differing only in case could be read by a case-insensitive replica.</summary>
    private static readonly string[] PolicyFields = ["model", "user", AlphaField, RelativeTopField, OffsetBetaPolicy.Field];

    /// <summary>
    /// Fields whose nested keys are the client's own data — JSON Schema property names of a response format or a
    /// tool's parameters — where a key such as "uld_score" names an output field, not a misplaced control.
    /// </summary>
    private static readonly string[] SchemaFields = ["response_format", "tools"];

    public AdmittedRequest Admit(ApiKeyOptions key, GatewayRoute route, JsonObject body)
    {
        foreach (var (name, _) in body)
        {
            if (PolicyFields.FirstOrDefault(f => f.Equals(name, StringComparison.OrdinalIgnoreCase) && !f.Equals(name, StringComparison.Ordinal)) is { } field)
                throw OpenAiException.InvalidRequest($"Unknown parameter '{name}'; did you mean '{field}'?", name, "unknown_parameter");
            // The replicas refuse a ULD control anywhere else (misspelt, or nested in another object); refusing it
            // here too keeps the answer the same for every endpoint, compare's fan-out included.
            if (!PolicyFields.Contains(name) && !SchemaFields.Contains(name) && UldControlFields.Find(name, body[name]) is { } path)
                throw OpenAiException.InvalidRequest($"Unknown parameter '{path}'.", path, "unknown_parameter");
        }
        var model = OptionalString(body, "model") ?? throw OpenAiException.InvalidRequest("'model' is required.", "model", "missing_required_parameter");
        if (model.Length == 0) throw OpenAiException.InvalidRequest("'model' is required.", "model", "missing_required_parameter");
        if (!key.MayUse(model))
            throw new OpenAiException(403, $"This API key may not use model '{model}'.", "invalid_request_error", "model", "model_not_allowed");

        var user = OptionalString(body, "user");
        var deployment = model;
        VariantOptions? variant = null;
        if (catalog.Experiments.TryGetValue(model, out var experiment))
        {
            // Sticky per end user when the client names one, otherwise per API key.
            variant = ExperimentAssigner.Assign(model, experiment, user is { Length: > 0 } ? "user:" + user : "key:" + key.Name);
            deployment = variant.Model;
        }
        var cluster = catalog.ClusterFor(deployment) ?? throw OpenAiException.ModelNotFound(model);
        var policy = policies.Resolve(cluster, deployment);

        var alpha = OptionalNumber(body, AlphaField);
        var relativeTop = OptionalNumber(body, RelativeTopField);
        var beta = OptionalNumber(body, OffsetBetaPolicy.Field);
        var kind = policy.IsUld ? "a ULD" : policy.Offset is not null ? "an offset" : "a plain";
        if (beta is not null && policy.Offset is null)
        {
            throw OpenAiException.InvalidRequest($"{OffsetBetaPolicy.Field} applies to offset deployments only; '{deployment}' is {kind} deployment.",
                OffsetBetaPolicy.Field, "uld_not_supported");
        }
        double? served = null, servedBeta = null;
        if (!policy.IsUld)
        {
            if (alpha is not null || relativeTop is not null)
            {
                var field = alpha is not null ? AlphaField : RelativeTopField;
                throw OpenAiException.InvalidRequest($"{field} applies to ULD deployments only; '{deployment}' is {kind} deployment.", field, "uld_not_supported");
            }
            if (policy.Offset is { } offset && (route.Generates || beta is not null))
            {
                servedBeta = offset.Check(key, deployment, beta);
                if (route.Generates) body[OffsetBetaPolicy.Field] = servedBeta;
            }
        }
        else if (route.Generates || alpha is not null || relativeTop is not null)
        {
            served = AlphaPolicy.Check(key, deployment, policy, alpha);
            var r = relativeTop ?? policy.RelativeTopDefault;
            if (r < policy.RelativeTopMin || r > policy.RelativeTopMax)
            {
                throw OpenAiException.InvalidRequest($"{RelativeTopField} must be between {policy.RelativeTopMin} and {policy.RelativeTopMax} for '{deployment}'; got {r}.",
                    RelativeTopField, "relative_top_out_of_range");
            }
            if (route.Generates)
            {
                body[AlphaField] = served;
                body[RelativeTopField] = r;
            }
        }
        body["model"] = deployment;
        return new AdmittedRequest(model, deployment, cluster, variant, route.Generates ? served : null, body) { OffsetBeta = route.Generates ? servedBeta : null };
    }

    private static string? OptionalString(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw OpenAiException.InvalidRequest($"'{field}' must be a string.", field, "invalid_type"),
    };

    /// <summary>A JSON number or absent/null; strings ("0.1"), booleans, objects and arrays are refused.</summary>
    private static double? OptionalNumber(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        _ => throw OpenAiException.InvalidRequest($"'{field}' must be a number.", field, "invalid_type"),
    };
}
