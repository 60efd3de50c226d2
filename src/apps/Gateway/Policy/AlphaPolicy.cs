using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Policy;

/// <summary>
/// α for one request to a ULD deployment. The deployment's AlphaMin is the floor (below it the unlearning is undone)
/// and only keys granted <see cref="ApiKeyOptions.MayLowerAlphaBelowFloor"/> pass the gateway below it; AlphaMax is a
/// hard bound; a key's own α range narrows what it may be served, including the deployment default it gets by
/// sending no α at all.
/// </summary>
public static class AlphaPolicy
{
    /// <summary>The α that will be served, or an OpenAI error naming uld_alpha.</summary>
    public static double Check(ApiKeyOptions key, string deployment, DeploymentPolicy policy, double? requested)
    {
        var alpha = requested ?? policy.AlphaDefault;
        // A value no key may be served (negative, non-finite, above the bound) is a malformed request (400), whoever
        // sends it; only a valid α below the floor is a question of permission (403).
        if (!double.IsFinite(alpha) || alpha < 0 || alpha > policy.AlphaMax)
        {
            throw OpenAiException.InvalidRequest($"uld_alpha must be between {policy.AlphaMin} and {policy.AlphaMax} for '{deployment}'; got {alpha}.",
                RequestAdmission.AlphaField, "alpha_out_of_range");
        }
        if (alpha < policy.AlphaMin && !key.MayLowerAlphaBelowFloor)
            throw Forbidden($"uld_alpha below {policy.AlphaMin} would undo the unlearning of '{deployment}'; this API key is not granted that.", "alpha_below_floor");
        if (key.AlphaMin is { } min && alpha < min) throw Forbidden($"This API key may not be served uld_alpha below {min}; got {alpha}.", "alpha_not_allowed");
        if (key.AlphaMax is { } max && alpha > max) throw Forbidden($"This API key may not be served uld_alpha above {max}; got {alpha}.", "alpha_not_allowed");
        return alpha;
    }

    private static OpenAiException Forbidden(string message, string code) =>
        new(403, message, "invalid_request_error", RequestAdmission.AlphaField, code);
}
