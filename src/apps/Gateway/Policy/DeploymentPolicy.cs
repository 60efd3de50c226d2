using Uld.Contracts.OpenAi;

namespace Uld.Gateway.Policy;

/// <summary>
/// How a deployment lets callers set α and the relative-top r, as its replicas list it on <c>GET /v1/models</c>
/// (LogitServer's deployment configuration is the one source of truth). <see cref="AlphaMin"/> is the floor that keeps
/// the unlearning in force. An offset deployment has a β policy instead (<see cref="Offset"/>); plain deployments have
/// neither. <see cref="Rule"/> is the decode rule α scales: replicas that serve one name with different rules disagree.
/// </summary>
public sealed record DeploymentPolicy(bool IsUld, double AlphaDefault, double AlphaMin, double AlphaMax,
    double RelativeTopDefault, double RelativeTopMin, double RelativeTopMax, string Rule = "difference")
{
    public static readonly DeploymentPolicy Plain = new(false, 0, 0, 0, 0, 0, 0);

    /// <summary>An offset deployment's β policy; null for plain and ULD deployments.</summary>
    public OffsetBetaPolicy? Offset { get; init; }

    /// <summary>
    /// Reads a model card's <c>uld</c> or <c>offset</c> extension; null when the card cannot be trusted (both
    /// extensions, a bound that is not a finite number, no rule), and then the policy stays unknown.
    /// </summary>
    public static DeploymentPolicy? FromCard(ModelCard card)
    {
        if (card.Offset is { } offset) return card.Uld is null && OffsetBetaPolicy.FromCard(offset) is { } beta ? Plain with { Offset = beta } : null;
        if (card.Uld is not { } uld) return Plain;
        double[] bounds = [uld.AlphaDefault, uld.AlphaMin, uld.AlphaMax, uld.RelativeTopDefault, uld.RelativeTopMin, uld.RelativeTopMax];
        if (!bounds.All(double.IsFinite) || string.IsNullOrEmpty(uld.Rule)) return null;
        return new DeploymentPolicy(true, uld.AlphaDefault, uld.AlphaMin, uld.AlphaMax, uld.RelativeTopDefault, uld.RelativeTopMin, uld.RelativeTopMax, uld.Rule);
    }
}
