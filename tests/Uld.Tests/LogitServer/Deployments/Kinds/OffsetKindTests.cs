using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tests.Support;
using static Uld.Tests.LogitServer.Deployments.Kinds.KindContract;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>
/// The offset kind's contract: base, reference and unlearned models, l_base + β·(l_unlearned − l_reference) with β
/// inside its bounds (docs/DESIGN.md, *The offset decode rule*), and the "offset" card.
/// </summary>
public sealed class OffsetKindTests
{
    private static readonly DeploymentKind Kind = new OffsetKind();

    private static DeploymentOptions Offset() => new()
    {
        Name = "delta", Kind = "OFFSET", Base = RepositoryModels.Target, Reference = RepositoryModels.UldAssistant, Unlearned = RepositoryModels.NpoGd,
        BetaDefault = 1.0, BetaMin = 0.5, BetaMax = 2.0,
    };

    [Fact]
    public void Its_settings_are_three_model_directories_and_an_ordered_beta_policy()
    {
        Assert.IsType<OffsetKind>(DeploymentKinds.Of(Offset()));
        Assert.Null(Problem(Offset()));
        var noReference = Offset();
        noReference.Reference = null;
        Assert.Contains("Reference is required for Offset deployments (deployment 'delta')", Problem(noReference));
        var inverted = Offset();
        inverted.BetaMin = 1.5;
        Assert.Contains("BetaMin (deployment 'delta') must not exceed BetaDefault (1.5 > 1)", Problem(inverted));
        var negative = Offset();
        negative.BetaMax = double.PositiveInfinity;
        Assert.Contains("BetaMax (deployment 'delta') must be a finite number ≥ 0", Problem(negative));
        var uldSetting = Offset();
        uldSetting.Rule = UldRule.SuppressOnly;
        Assert.Contains("Rule is not used by Offset deployments", Problem(uldSetting));
    }

    [Fact]
    public void It_runs_the_unlearned_and_reference_models_beside_the_base_in_that_order()
    {
        Assert.Equal(
            [new ModelRole("base", RepositoryModels.Target), new ModelRole("unlearned", RepositoryModels.NpoGd), new ModelRole("reference", RepositoryModels.UldAssistant)],
            Kind.Models(Offset()));
        Assert.True(Kind.RunsSessionsSideBySide(Offset()));
    }

    [Fact]
    public void Combine_shifts_the_base_by_beta_times_what_unlearning_moved()
    {
        float[] unlearned = [1.0f, -2.0f, 0.5f, 0.0f, -1.0f, 0.3f], reference = [1.5f, 0.5f, 0.5f, -0.2f, 1.0f, 0.3f];
        var combined = Combine(Kind, Offset(), Parameters(beta: 1.5), Base, unlearned, reference);

        var library = new float[Base.Length];
        OffsetLogits.CombineLogits(Base, unlearned, reference, 1.5, library);
        Assert.Equal(library, combined);
        AssertClose(Base.Select((b, v) => b + 1.5f * (unlearned[v] - reference[v])).ToArray(), combined);
        Assert.Equal(Base, Combine(Kind, Offset(), Parameters(beta: 0), Base, unlearned, reference)); // β = 0 is the base, bit for bit
    }

    [Fact]
    public void It_admits_beta_inside_the_policy_and_refuses_the_uld_controls()
    {
        Assert.Equal(new RuleControls(0, 0, 1.0), Kind.Admit(Offset(), Request()));
        Assert.Equal(new RuleControls(0, 0, 2.0), Kind.Admit(Offset(), Request(beta: 2.0)));
        var low = Refused(Kind, Offset(), Request(beta: 0.1));
        Assert.Equal(("uld_offset_beta", "uld_offset_beta must be between 0.5 and 2 for 'delta'; got 0.1."), (low.Param, low.Message));
        var alpha = Refused(Kind, Offset(), Request(alpha: 1));
        Assert.Equal("uld_alpha is only accepted by ULD deployments; 'delta' is an offset deployment.", alpha.Message);
        Assert.Equal(new ReportedControls(null, null, 1.25), Kind.Report(Parameters(alpha: 3, beta: 1.25)));
    }

    [Fact]
    public void Its_card_lists_the_beta_policy()
    {
        var card = Card(Kind, Offset());
        Assert.Null(card["uld"]);
        Assert.Equal("""{"beta_default":1,"beta_min":0.5,"beta_max":2}""", card["offset"]!.ToJsonString());
    }
}
