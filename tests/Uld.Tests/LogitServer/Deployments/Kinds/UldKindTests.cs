using Uld.Contracts.Models;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tests.Support;
using static Uld.Tests.LogitServer.Deployments.Kinds.KindContract;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>
/// The two-session ULD kind's contract: a base and one assistant (or weighted assistants), the α/relative-top policy,
/// the ULD rule of docs/DESIGN.md (*The ULD decode rule*) on fixed logits, and the "uld" card.
/// </summary>
public sealed class UldKindTests
{
    private static readonly DeploymentKind Kind = new UldKind();

    private static DeploymentOptions Uld(UldRule? rule = null) => new()
    {
        Name = "forgets", Kind = "Uld", Base = RepositoryModels.Target, Assistant = RepositoryModels.UldAssistant, Rule = rule,
        AlphaDefault = 1.5, AlphaMin = 1.0, AlphaMax = 3.0, RelativeTopDefault = 0.1, RelativeTopMin = 0.0, RelativeTopMax = 0.5,
    };

    private static DeploymentOptions Summed(UldRule rule, params (string Path, double Weight)[] assistants)
    {
        var d = Uld(rule);
        d.Assistant = null;
        d.Assistants = assistants.Select(a => new AssistantOptions { Path = a.Path, Alpha = a.Weight }).ToList();
        return d;
    }

    [Fact]
    public void Its_settings_are_a_base_one_assistant_or_a_list_and_an_ordered_policy()
    {
        Assert.IsType<UldKind>(DeploymentKinds.Of(Uld()));
        Assert.Null(Problem(Uld()));
        Assert.Null(Problem(Summed(UldRule.Difference, (RepositoryModels.UldAssistant, 0.5), (RepositoryModels.UldAssistant, 0.5))));

        var noAssistant = Uld();
        noAssistant.Assistant = null;
        Assert.Contains("Assistant is required for Uld deployments (deployment 'forgets') (or Assistants, a list of them)", Problem(noAssistant));
        var both = Summed(UldRule.Difference, (RepositoryModels.UldAssistant, 1));
        both.Assistant = RepositoryModels.UldAssistant;
        Assert.Contains("are both set", Problem(both));
        Assert.Contains("Assistants:0:Alpha (deployment 'forgets') must be a finite number > 0; got 0", Problem(Summed(UldRule.Difference, (RepositoryModels.UldAssistant, 0))));
        var inverted = Uld();
        (inverted.AlphaMin, inverted.AlphaDefault) = (2.5, 2.0);
        Assert.Contains("AlphaMin (deployment 'forgets') must not exceed AlphaDefault (2.5 > 2)", Problem(inverted));
        var wideTop = Uld();
        wideTop.RelativeTopMax = 1.5;
        Assert.Contains("RelativeTopMax (deployment 'forgets') must be at most 1; got 1.5", Problem(wideTop));
        var offsetSetting = Uld();
        offsetSetting.Reference = RepositoryModels.Target;
        Assert.Contains("Reference is not used by Uld deployments", Problem(offsetSetting));
    }

    [Fact]
    public void It_opens_the_base_and_each_assistant_side_by_side()
    {
        Assert.Equal([new ModelRole("base", RepositoryModels.Target), new ModelRole("assistant", RepositoryModels.UldAssistant)], Kind.Models(Uld()));
        var summed = Summed(UldRule.Difference, (RepositoryModels.UldAssistant, 1), (RepositoryModels.NpoGd, 0.5));
        Assert.Equal(["base", "assistant", "assistant.1"], Kind.Models(summed).Select(m => m.Role));
        Assert.Equal(RepositoryModels.NpoGd, Kind.Models(summed)[2].Path);
        Assert.True(Kind.RunsSessionsSideBySide(summed));
        Assert.False(Kind.BaseTakesAlpha);
    }

    [Fact]
    public void It_is_served_with_the_configured_the_calibrated_or_the_fallback_alpha()
    {
        OpenedModel[] models = [new("base", ModelDirectory.Open(RepositoryModels.Target)), new("assistant", ModelDirectory.Open(RepositoryModels.UldAssistant))];
        var calibration = models[1].Directory.Manifest.Metrics!["calibration"]!;
        Assert.Equal(("SuppressOnly", 0.0), (calibration["rule"]!.GetValue<string>(), calibration["relative_top"]!.GetValue<double>()));

        var configured = Uld(UldRule.SuppressOnly);
        (configured.AlphaDefault, configured.RelativeTopDefault, configured.AlphaMin, configured.AlphaMax) = (null, 0.0, 0.5, 4.0);
        var served = Kind.Serve(configured, models);
        Assert.Equal(calibration["recommended_alpha"]!.GetValue<double>(), served.AlphaDefault);
        Assert.Null(configured.AlphaDefault); // what was configured (and is reported as the spec) stays as written

        configured.Rule = UldRule.Difference; // calibrated for another rule: the fallback
        Assert.Equal(DeploymentOptions.FallbackAlpha, Kind.Serve(configured, models).AlphaDefault);
        configured.AlphaMin = 1.0; // the fallback below the floor is refused, not served
        Assert.Contains("the fallback α 0.8 is outside", Assert.Throws<DeploymentConfigurationException>(() => Kind.Serve(configured, models)).Message);
        configured.AlphaDefault = 3.5;
        Assert.Equal(3.5, Kind.Serve(configured, models).AlphaDefault);
        configured.AlphaDefault = 5;
        Assert.Contains("AlphaDefault is outside [AlphaMin 1, AlphaMax 4]", Assert.Throws<DeploymentConfigurationException>(() => Kind.Serve(configured, models)).Message);
    }

    /// <summary>docs/DESIGN.md's rule, computed here in double precision from the formulas, for weighted assistants.</summary>
    private static float[] Expected(UldRule rule, double alpha, double relativeTop, params (double Weight, float[] Logits)[] assistants)
    {
        var logprobs = LogSoftmax(Base);
        var threshold = relativeTop > 0 ? logprobs.Max() + Math.Log(relativeTop) : double.NegativeInfinity;
        var penalty = new double[Base.Length];
        foreach (var (weight, a) in assistants)
        {
            var uniform = LogSoftmax(a); // log p_assistant; + log V is above 0 where the assistant beats uniform
            for (var v = 0; v < a.Length; v++) penalty[v] += weight * (rule == UldRule.Difference ? a[v] : Math.Max(0, uniform[v] + Math.Log(a.Length)));
        }
        return Base.Select((l, v) => logprobs[v] < threshold ? float.NegativeInfinity
            : (float)((rule == UldRule.Difference ? l : logprobs[v]) - alpha * penalty[v])).ToArray();
    }

    [Theory]
    [InlineData(UldRule.Difference)]
    [InlineData(UldRule.SuppressOnly)]
    public void Combine_is_the_uld_rule_of_one_assistant(UldRule rule)
    {
        var parameters = Parameters(alpha: 1.7, relativeTop: 0.1);
        var served = Uld(rule);
        var combined = Combine(Kind, served, parameters, Base, Assistant);

        var library = new float[Base.Length];
        UldLogits.CombineLogits(Base, Assistant, 1.7, 0.1, library, rule);
        Assert.Equal(library, combined); // the kind feeds Uld.Inference's rule, bit for bit
        AssertClose(Expected(rule, 1.7, 0.1, (1, Assistant)), combined);
        Assert.Contains(combined, float.IsNegativeInfinity); // r = 0.1 masked the base's unlikely tokens
        Assert.Equal(Base, Combine(Kind, served, Parameters(alpha: 0, relativeTop: 0.1), Base, Assistant)); // α = 0 is the base
    }

    [Theory]
    [InlineData(UldRule.Difference)]
    [InlineData(UldRule.SuppressOnly)]
    public void Combine_subtracts_alpha_times_the_weighted_sum_of_several_assistants(UldRule rule)
    {
        var parameters = Parameters(alpha: 1.2, relativeTop: 0.05);
        var summed = Summed(rule, ("a", 1.0), ("b", 0.5));
        AssertClose(Expected(rule, 1.2, 0.05, (1.0, Assistant), (0.5, OtherAssistant)), Combine(Kind, summed, parameters, Base, Assistant, OtherAssistant));

        // Two halves of one assistant serve that assistant (docs/DESIGN.md, *The ULD decode rule*).
        AssertClose(Combine(Kind, Uld(rule), parameters, Base, Assistant), Combine(Kind, Summed(rule, ("a", 0.5), ("a", 0.5)), parameters, Base, Assistant, Assistant));
        // One assistant at another weight is weighted, not served as weight 1.
        AssertClose(Expected(rule, 1.2, 0.05, (2.0, Assistant)), Combine(Kind, Summed(rule, ("a", 2.0)), parameters, Base, Assistant));
    }

    [Fact]
    public void It_admits_alpha_and_relative_top_inside_the_policy_and_refuses_beta()
    {
        var served = Uld();
        Assert.Equal(new RuleControls(1.5, 0.1, 0), Kind.Admit(served, Request()));
        Assert.Equal(new RuleControls(2.5, 0.3, 0), Kind.Admit(served, Request(alpha: 2.5, relativeTop: 0.3)));
        var low = Refused(Kind, served, Request(alpha: 0.5));
        Assert.Equal(("uld_alpha", "uld_alpha must be between 1 and 3 for 'forgets'; got 0.5."), (low.Param, low.Message));
        Assert.Equal("uld_alpha", Refused(Kind, served, Request(alpha: double.NaN)).Param);
        Assert.Equal("uld_relative_top", Refused(Kind, served, Request(relativeTop: 0.6)).Param);
        var beta = Refused(Kind, served, Request(beta: 1));
        Assert.Equal("uld_offset_beta is only accepted by offset deployments; 'forgets' is a ULD deployment.", beta.Message);
        Assert.Equal(new ReportedControls(2.5, 0.3, null), Kind.Report(Parameters(alpha: 2.5, relativeTop: 0.3, beta: 9)));
    }

    [Fact]
    public void Its_card_lists_the_alpha_and_relative_top_policy_and_the_rule()
    {
        var card = Card(Kind, Uld(UldRule.SuppressOnly));
        Assert.Null(card["offset"]);
        Assert.Equal("""{"alpha_default":1.5,"alpha_min":1,"alpha_max":3,"relative_top_default":0.1,"relative_top_min":0,"relative_top_max":0.5,"rule":"suppress_only"}""",
            card["uld"]!.ToJsonString());
        Assert.Equal("difference", Card(Kind, Uld())["uld"]!["rule"]!.GetValue<string>());
    }
}
