using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Policy;

/// <summary>
/// β for one request to an offset-unlearning deployment (l_base + β·(l_unlearned − l_reference)), as its replicas
/// list it on <c>GET /v1/models</c>. <see cref="Min"/> is the floor: a smaller β weakens the offset that does the
/// forgetting (β = 0 serves the base unchanged), so only keys granted
/// <see cref="ApiKeyOptions.MayLowerAlphaBelowFloor"/> — the grant to pass below any unlearning floor — pass below it.
/// The keys' own α ranges do not apply to β.
/// </summary>
public sealed record OffsetBetaPolicy(double Default, double Min, double Max)
{
    public const string Field = "uld_offset_beta";

    /// <summary>Reads a model card's "offset" extension; null when a bound is not a finite number.</summary>
    public static OffsetBetaPolicy? FromCard(OffsetPolicyCard offset) =>
        double.IsFinite(offset.BetaDefault) && double.IsFinite(offset.BetaMin) && double.IsFinite(offset.BetaMax)
            ? new OffsetBetaPolicy(offset.BetaDefault, offset.BetaMin, offset.BetaMax)
            : null;

    /// <summary>The β that will be served, or an OpenAI error naming uld_offset_beta.</summary>
    public double Check(ApiKeyOptions key, string deployment, double? requested)
    {
        var beta = requested ?? Default;
        // Out of range for everyone is 400 before the floor, which is a question of permission (403); see AlphaPolicy.
        if (!double.IsFinite(beta) || beta < 0 || beta > Max)
            throw OpenAiException.InvalidRequest($"{Field} must be between {Min} and {Max} for '{deployment}'; got {beta}.", Field, "beta_out_of_range");
        if (beta < Min && !key.MayLowerAlphaBelowFloor)
        {
            throw new OpenAiException(403, $"{Field} below {Min} would undo the unlearning of '{deployment}'; this API key is not granted that.",
                "invalid_request_error", Field, "beta_below_floor");
        }
        return beta;
    }
}
