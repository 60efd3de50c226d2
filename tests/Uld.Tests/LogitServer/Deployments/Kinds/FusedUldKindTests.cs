using Uld.Contracts.Models;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;
using Uld.Tests.Support;
using static Uld.Tests.LogitServer.Deployments.Kinds.KindContract;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>
/// The fused ULD kind's contract: a ULD entry with a <c>Fused</c> graph, which opens and verifies base and assistant
/// but runs only the graph (α per row as its input), serves the same distribution as the two-session kind from the
/// graph's l_base − α·l_assistant, and publishes the same policy.
/// </summary>
public sealed class FusedUldKindTests
{
    private static readonly DeploymentKind Kind = new FusedUldKind();

    /// <summary>The check reads only that the graph exists; what it was built from is checked at load (FusedUldTests).</summary>
    private static string AnyFile => Path.Combine(RepositoryModels.Target, ModelDirectory.OnnxFile);

    private static DeploymentOptions Fused(UldRule? rule = null) => new()
    {
        Name = "fused", Kind = "Uld", Base = RepositoryModels.Target, Assistant = RepositoryModels.UldAssistant, Fused = AnyFile, Rule = rule,
        AlphaDefault = 1.5, AlphaMin = 1.0, AlphaMax = 3.0, RelativeTopDefault = 0.1,
    };

    [Fact]
    public void A_uld_entry_with_a_fused_graph_is_this_kind_and_its_graph_must_exist_and_hold_one_assistant()
    {
        Assert.IsType<FusedUldKind>(DeploymentKinds.Of(Fused()));
        var twoSessions = Fused();
        twoSessions.Fused = " ";
        Assert.IsType<UldKind>(DeploymentKinds.Of(twoSessions));
        Assert.Null(Problem(Fused()));

        var missing = Fused();
        missing.Fused = "/nonexistent/uld-fused.onnx";
        Assert.Contains("Fused (deployment 'fused'): fused graph /nonexistent/uld-fused.onnx does not exist.", Problem(missing));
        var several = Fused();
        several.Assistant = null;
        several.Assistants = [new AssistantOptions { Path = RepositoryModels.UldAssistant }];
        Assert.Contains("a fused graph holds one assistant; it cannot serve Assistants", Problem(several));
        var low = Fused();
        low.AlphaMax = 1.2;
        Assert.Contains("AlphaDefault (deployment 'fused') must not exceed AlphaMax", Problem(low)); // the same α policy as two sessions
    }

    [Fact]
    public void It_verifies_base_and_assistant_but_loads_only_the_graph_which_takes_alpha()
    {
        Assert.Equal([new ModelRole("base", RepositoryModels.Target), new ModelRole("assistant", RepositoryModels.UldAssistant)], Kind.Models(Fused()));
        Assert.Empty(Kind.SessionModels(Fused()));
        Assert.False(Kind.RunsSessionsSideBySide(Fused()));
        Assert.True(Kind.BaseTakesAlpha);
    }

    [Theory]
    [InlineData(UldRule.Difference)]
    [InlineData(UldRule.SuppressOnly)]
    public void Combine_of_the_graphs_uld_logits_is_the_two_session_rule(UldRule rule)
    {
        const double alpha = 1.7;
        var parameters = Parameters(alpha: alpha, relativeTop: 0.1);
        // What the graph returns beside l_base for a row at this α.
        var uld = Base.Zip(Assistant, (b, a) => b - (float)alpha * a).ToArray();
        var logits = new float[Base.Length];
        Kind.Combine(Fused(rule), Step(Base, uld), [], 0, 0, parameters, logits);

        var library = new float[Base.Length];
        UldLogits.CombineFusedLogits(Base, uld, alpha, 0.1, library, rule);
        Assert.Equal(library, logits);
        AssertClose(Combine(new UldKind(), Fused(rule), parameters, Base, Assistant), logits);
    }

    [Fact]
    public void It_admits_and_publishes_the_uld_policy()
    {
        Assert.Equal(new RuleControls(2.0, 0.1, 0), Kind.Admit(Fused(), Request(alpha: 2.0)));
        Assert.Equal("uld_alpha", Refused(Kind, Fused(), Request(alpha: 3.5)).Param);
        Assert.Equal(Card(new UldKind(), Fused()).ToJsonString(), Card(Kind, Fused()).ToJsonString());
        Assert.Equal(1.5, Card(Kind, Fused())["uld"]!["alpha_default"]!.GetValue<double>());
    }
}
