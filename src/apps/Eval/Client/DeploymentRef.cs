using Uld.Contracts;

namespace Uld.Eval.Client;

/// <summary>A deployment to evaluate: its model name and, for ULD deployments, the α (and r) to request.</summary>
/// <param name="User">OpenAI's end-user id; behind the gateway it decides an A/B experiment's variant.</param>
public sealed record DeploymentRef(string Model, double? Alpha = null, double? RelativeTop = null, string? User = null)
{
    /// <summary>"name", "name@α" or "name@α@r".</summary>
    public static DeploymentRef Parse(string text)
    {
        var parts = text.Split('@');
        double? Number(int i) => parts.Length > i
            ? double.TryParse(parts[i], System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new UserErrorException($"'{text}': '{parts[i]}' is not a number.")
            : null;
        if (parts.Length > 3 || parts[0].Length == 0) throw new UserErrorException($"'{text}' is not a deployment (name, name@alpha or name@alpha@r).");
        return new DeploymentRef(parts[0], Number(1), Number(2));
    }

    public override string ToString() =>
        (Alpha is null ? Model : RelativeTop is null ? $"{Model}@{Alpha}" : $"{Model}@{Alpha}@{RelativeTop}") + (User is null ? "" : "#" + User);
}
