using Uld.Contracts.OpenAi;

namespace Uld.LogitServer.Deployments.Kinds;

/// <summary>
/// The values a deployment's rule runs one request with: α and the relative-top r of a ULD rule, β of an offset rule
/// (0 where the kind has no such value). Each row of a batch carries its own (<see cref="Engine.SamplingParameters"/>).
/// </summary>
public readonly record struct RuleControls(double Alpha, double RelativeTop, double OffsetBeta)
{
    public static readonly RuleControls None = default;
}

/// <summary>What a response and the request log report of the rule's values; null where the kind has no such value.</summary>
public readonly record struct ReportedControls(double? Alpha, double? RelativeTop, double? OffsetBeta)
{
    public static readonly ReportedControls None = default;
}

/// <summary>The request fields that set a deployment's rule, by wire name: each kind accepts its own and refuses the others.</summary>
public static class RequestControls
{
    public const string Alpha = "uld_alpha";
    public const string RelativeTop = "uld_relative_top";
    public const string OffsetBeta = "uld_offset_beta";

    /// <summary>Every control field with the value the request gave it (null: not set), in the order they are checked.</summary>
    public static IReadOnlyList<(string Field, double? Value)> Of(CompletionRequestBase request) =>
    [
        (Alpha, request.UldAlpha),
        (RelativeTop, request.UldRelativeTop),
        (OffsetBeta, request.UldOffsetBeta),
    ];
}
