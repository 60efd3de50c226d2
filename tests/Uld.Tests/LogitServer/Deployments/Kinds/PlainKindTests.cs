using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tests.Support;
using static Uld.Tests.LogitServer.Deployments.Kinds.KindContract;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>The plain kind's contract: one model directory, its logits served unchanged, no controls, no policy on its card.</summary>
public sealed class PlainKindTests
{
    private static readonly DeploymentKind Kind = new PlainKind();

    private static DeploymentOptions Plain(string? model = null) => new() { Name = "target", Kind = "plain", Model = model ?? RepositoryModels.Target };

    [Fact]
    public void Its_settings_are_one_existing_model_directory_and_nothing_of_another_kind()
    {
        Assert.Same(typeof(PlainKind), DeploymentKinds.Of(Plain())!.GetType()); // "plain" in any case
        Assert.Null(Problem(Plain()));
        Assert.Equal("LogitServer:Deployments[target]:Model is required for Plain deployments (deployment 'target').", Problem(new DeploymentOptions { Name = "target" }));
        Assert.Contains("Model (deployment 'target'): model directory /nonexistent does not exist", Problem(Plain("/nonexistent")));
        var withBase = Plain();
        withBase.Base = RepositoryModels.Target;
        Assert.Contains("Base is not used by Plain deployments (deployment 'target'); remove it.", Problem(withBase));
        var withAlpha = Plain();
        withAlpha.AlphaDefault = 1.5;
        Assert.Contains("AlphaDefault is not used by Plain deployments", Problem(withAlpha));
    }

    [Fact]
    public void It_opens_one_model_in_one_session()
    {
        var d = Plain();
        Assert.Equal([new ModelRole("model", RepositoryModels.Target)], Kind.Models(d));
        Assert.Equal(Kind.Models(d), Kind.SessionModels(d));
        Assert.False(Kind.RunsSessionsSideBySide(d));
        Assert.False(Kind.BaseTakesAlpha);
    }

    [Fact]
    public void Combine_serves_the_base_logits_exactly_whatever_the_row_carries()
    {
        // The "no unlearning" distribution: the ULD rule with no assistant is the base, bit for bit.
        var expected = new float[Base.Length];
        Uld.Inference.Sampling.UldLogits.CombineLogits(Base, default, 2.0, 0.1, expected);
        Assert.Equal(Base, expected);
        Assert.Equal(expected, Combine(Kind, Plain(), Parameters(alpha: 2.0, relativeTop: 0.1, beta: 1.5), Base));
    }

    [Fact]
    public void It_admits_no_control_and_refuses_each_naming_the_kinds_that_take_it()
    {
        Assert.Equal(RuleControls.None, Kind.Admit(Plain(), Request()));
        var alpha = Refused(Kind, Plain(), Request(alpha: 1));
        Assert.Equal(("uld_alpha", "uld_alpha is only accepted by ULD deployments; 'target' is a plain deployment."), (alpha.Param, alpha.Message));
        Assert.Equal("uld_relative_top", Refused(Kind, Plain(), Request(relativeTop: 0.1)).Param);
        var beta = Refused(Kind, Plain(), Request(beta: 1));
        Assert.Equal(("uld_offset_beta", "uld_offset_beta is only accepted by offset deployments; 'target' is a plain deployment."), (beta.Param, beta.Message));
        Assert.Equal(ReportedControls.None, Kind.Report(Parameters(alpha: 1, beta: 1)));
    }

    [Fact]
    public void Its_card_carries_no_policy()
    {
        var card = Card(Kind, Plain());
        Assert.Equal(["id", "object", "created", "owned_by"], card.Select(p => p.Key));
        Assert.Equal("target", card["id"]!.GetValue<string>());
    }
}
