using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Uld.Contracts.Admin;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Deployments;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// The admin API (<see cref="AdminRoutes"/>): list, load or replace, and unload deployments while the server runs
/// (docs/DESIGN.md, *Runtime deployments*). Mapped only when <see cref="LogitServerOptions.AdminKeySha256"/> is set;
/// every call is authenticated before anything of the request is read.
/// </summary>
public static class AdminEndpoints
{
    public static void Map(WebApplication app, LogitServerOptions options)
    {
        if (!options.AdminApiEnabled) return;
        var admin = app.MapGroup(AdminRoutes.Deployments).AddEndpointFilter(new AdminKeyFilter(options.AdminKeySha256!));
        admin.MapGet("", List);
        admin.MapGet("/{name}", Get);
        admin.MapPut("/{name}", PutAsync);
        admin.MapDelete("/{name}", DeleteAsync);
    }

    private static IResult List(DeploymentRegistry registry) =>
        Results.Json(new DeployedList(registry.Versions.Select(v => v.Describe()).ToList()), JsonBody.Options);

    private static IResult Get(HttpContext context, DeploymentRegistry registry, string name)
    {
        var model = NameOf(context, name);
        var version = registry.Find(model) ?? throw OpenAiException.ModelNotFound(model);
        return Results.Json(version.Describe(), JsonBody.Options);
    }

    private static async Task<IResult> PutAsync(HttpContext context, DeploymentRegistry registry, string name)
    {
        var model = NameOf(context, name);
        var body = await StrictJsonBody.ReadObjectAsync(context.Request, context.RequestAborted);
        var spec = WithName(body, model);
        try
        {
            var (version, created) = await registry.PutAsync(DeploymentSpec.Read(spec), context.RequestAborted);
            if (created) context.Response.Headers.Location = AdminRoutes.Deployment(model);
            return Results.Json(version.Describe(), JsonBody.Options, statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }
        catch (DeploymentConfigurationException e)
        {
            throw OpenAiException.InvalidRequest(e.Message, null, "invalid_deployment");
        }
        catch (RuntimeDeploymentsFileException e)
        {
            throw NotRecorded(e);
        }
    }

    /// <summary>A change that could not be recorded is not made: the replica would serve something else after a restart.</summary>
    private static OpenAiException NotRecorded(RuntimeDeploymentsFileException e) =>
        new(500, $"The change was not made: {e.Message}", "server_error", null, "not_recorded");

    private static async Task<IResult> DeleteAsync(HttpContext context, DeploymentRegistry registry, string name)
    {
        var model = NameOf(context, name);
        try
        {
            return await registry.RemoveAsync(model, context.RequestAborted) ? Results.NoContent() : throw OpenAiException.ModelNotFound(model);
        }
        catch (RuntimeDeploymentsFileException e)
        {
            throw NotRecorded(e);
        }
    }

    /// <summary>
    /// The deployment name of the path, decoded exactly once: the server decodes every escape but <c>%2F</c>, which is
    /// a '/' of the name (<see cref="AdminRoutes.Deployment"/> escapes it). A name cannot hold '%', so an escaped '%'
    /// in the path (a second level of encoding) is refused rather than decoded again.
    /// </summary>
    private static string NameOf(HttpContext context, string routeValue)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        if (raw.Contains("%25", StringComparison.Ordinal) || routeValue.Replace("%2F", "", StringComparison.OrdinalIgnoreCase).Contains('%'))
            throw OpenAiException.InvalidRequest("A deployment name cannot contain '%'; escape only the name's '/' (as %2F), once.", null, "invalid_deployment_name");
        var name = routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        if (name.Any(char.IsControl) || string.IsNullOrWhiteSpace(name))
            throw OpenAiException.InvalidRequest("A deployment name must be printable text.", null, "invalid_deployment_name");
        return name;
    }

    /// <summary>The body with the path's name: a body may leave <c>Name</c> out, but a different one is refused.</summary>
    private static JsonObject WithName(JsonObject body, string name)
    {
        var key = body.Select(p => p.Key).FirstOrDefault(k => k.Equals(nameof(DeploymentOptions.Name), StringComparison.OrdinalIgnoreCase));
        if (key is null)
        {
            body[nameof(DeploymentOptions.Name)] = name;
            return body;
        }
        var given = body[key] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        if (given != name)
            throw OpenAiException.InvalidRequest($"The body's Name ({body[key]?.ToJsonString() ?? "null"}) is not the path's deployment name '{name}'.", key, "invalid_deployment");
        return body;
    }

    /// <summary>401 in the OpenAI shape unless the request carries the admin key; runs before the handler reads anything.</summary>
    private sealed class AdminKeyFilter(string sha256Hex) : IEndpointFilter
    {
        public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var presented = KeyHash.BearerToken(context.HttpContext.Request.Headers.Authorization.ToString());
            if (presented is null)
                throw new OpenAiException(401, "This is the admin API; send the admin key as 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
            if (!KeyHash.Matches(presented, sha256Hex))
                throw new OpenAiException(401, "Incorrect admin key provided.", "invalid_request_error", null, "invalid_api_key");
            return next(context);
        }
    }
}
