using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Forget.Configuration;
using Uld.Forget.Deploy;
using Uld.Forget.Gate;

namespace Uld.Tests.Forget.Deploy;

/// <summary>
/// How a request's assistant is added to a deployments.json entry (Summed and Union, plain and ULD entries), when two
/// entries count as the same (what makes re-deploying idempotent), and the gate's thresholds at their edges.
/// </summary>
public sealed class DeploymentEntryTests
{
    private const string Own = "/srv/forget-data/requests";

    private static JsonObject Uld(params string[] assistants) => new()
    {
        ["Name"] = "books",
        ["Kind"] = "Uld",
        ["Base"] = "/models/target",
        ["Assistants"] = new JsonArray([.. assistants.Select(a => (JsonNode)new JsonObject { ["Path"] = a, ["Alpha"] = 1.0 })]),
        ["AlphaMin"] = 2.0,
    };

    private static string[] Paths(JsonObject entry) => entry["Assistant"] is { } single
        ? [single.GetValue<string>()]
        : [.. entry["Assistants"]!.AsArray().Select(a => a!["Path"]!.GetValue<string>())];

    [Fact]
    public void A_plain_entry_becomes_uld_over_its_model_with_the_settings_and_an_alpha_floor_at_the_calibrated_alpha()
    {
        var plain = new JsonObject { ["Name"] = "target", ["Kind"] = "Plain", ["Model"] = "/models/target", ["ExecutionProvider"] = "cpu" };
        var entry = DeploymentEntry.WithAssistant(plain, "target", $"{Own}/fr-1/assistant", 1, 2.445, new ForgetDeploymentOptions(), Own);
        Assert.Equal(("Uld", "/models/target", "cpu", "SuppressOnly"), (entry["Kind"]!.GetValue<string>(), entry["Base"]!.GetValue<string>(),
            entry["ExecutionProvider"]!.GetValue<string>(), entry["Rule"]!.GetValue<string>()));
        Assert.Null(entry["Model"]);
        Assert.Equal((2.44, 5.0, 0.0), (entry["AlphaMin"]!.GetValue<double>(), entry["AlphaMax"]!.GetValue<double>(), entry["RelativeTopDefault"]!.GetValue<double>()));
        Assert.Equal($"{Own}/fr-1/assistant", entry["Assistant"]!.GetValue<string>()); // one assistant at weight 1: the classic entry
        Assert.Null(entry["Assistants"]);
        Assert.Equal("Plain", plain["Kind"]!.GetValue<string>()); // the input is not changed

        var configured = new ForgetDeploymentOptions { UldSettings = new() { ["Rule"] = "Difference", ["AlphaMin"] = "1.5" } };
        var custom = DeploymentEntry.WithAssistant(plain, "target", "/a", 1, 2.445, configured, Own);
        Assert.Equal(("Difference", 1.5), (custom["Rule"]!.GetValue<string>(), custom["AlphaMin"]!.GetValue<double>()));
    }

    private static readonly ForgetDeploymentOptions Summed = new() { Combination = Combination.Summed };

    [Fact]
    public void Union_is_the_default_combination() =>
        // docs/FORGET-REQUESTS.md, *Combination*: the union kept 0.44× of the retain KnowMem where two summed assistants kept 0.24×.
        Assert.Equal(Combination.Union, new ForgetDeploymentOptions().Combination);

    [Fact]
    public void Summed_appends_with_its_weight_and_union_replaces_only_the_services_own_assistant()
    {
        var single = new JsonObject { ["Name"] = "books", ["Kind"] = "Uld", ["Base"] = "/models/target", ["Assistant"] = "/models/operator", ["Fused"] = "/models/fused.onnx" };
        var first = DeploymentEntry.WithAssistant(single, "books", $"{Own}/fr-1/assistant", 1.15432, 2.4, Summed, Own);
        Assert.Null(first["Assistant"]);
        Assert.Null(first["Fused"]); // a fused graph is for the one pair it was built from
        Assert.Equal(["/models/operator", $"{Own}/fr-1/assistant"], Paths(first));
        Assert.Equal([1.0, 1.1543], first["Assistants"]!.AsArray().Select(a => a!["Alpha"]!.GetValue<double>()));
        Assert.Equal(2.0, DeploymentEntry.WithAssistant(Uld("/a"), "books", "/b", 1, 9, Summed, Own)["AlphaMin"]!.GetValue<double>());

        // A sum without AlphaDefault keeps the α the deployment served (LogitServer would otherwise fall back to 0.8).
        Assert.Null(first["AlphaDefault"]);
        Assert.Equal(2.118, DeploymentEntry.WithAssistant(single, "books", "/b", 1, 2.4, Summed, Own, servingAlpha: 2.118)["AlphaDefault"]!.GetValue<double>());
        var explicitAlpha = new JsonObject { ["Name"] = "books", ["Kind"] = "Uld", ["Base"] = "/m", ["Assistant"] = "/a", ["AlphaDefault"] = 3.0 };
        Assert.Equal(3.0, DeploymentEntry.WithAssistant(explicitAlpha, "books", "/b", 1, 2.4, Summed, Own, servingAlpha: 2.118)["AlphaDefault"]!.GetValue<double>());
        var summed = DeploymentEntry.WithAssistant(first, "books", $"{Own}/fr-2/assistant", 1, null, Summed, Own);
        Assert.Equal(["/models/operator", $"{Own}/fr-1/assistant", $"{Own}/fr-2/assistant"], Paths(summed));
        var union = DeploymentEntry.WithAssistant(first, "books", $"{Own}/fr-2/assistant", 1, null, new ForgetDeploymentOptions { Combination = Combination.Union }, Own);
        Assert.Equal(["/models/operator", $"{Own}/fr-2/assistant"], Paths(union));
        var ownOnly = new JsonObject { ["Name"] = "t", ["Kind"] = "Uld", ["Base"] = "/models/target", ["Assistant"] = $"{Own}/fr-1/assistant" };
        var replaced = DeploymentEntry.WithAssistant(ownOnly, "t", $"{Own}/fr-2/assistant", 1, null, new ForgetDeploymentOptions { Combination = Combination.Union }, Own);
        Assert.Equal($"{Own}/fr-2/assistant", replaced["Assistant"]!.GetValue<string>());
        // A sibling directory with the same prefix is not the service's own.
        var sibling = DeploymentEntry.WithAssistant(Uld($"{Own}-old/x"), "books", $"{Own}/fr-3/assistant", 1, null, new ForgetDeploymentOptions { Combination = Combination.Union }, Own);
        Assert.Equal([$"{Own}-old/x", $"{Own}/fr-3/assistant"], Paths(sibling));

        var offset = new JsonObject { ["Name"] = "o", ["Kind"] = "Offset", ["Base"] = "/b", ["Reference"] = "/r", ["Unlearned"] = "/u" };
        Assert.Contains("kind Offset", Assert.Throws<InvalidOperationException>(() => DeploymentEntry.WithAssistant(offset, "o", "/a", 1, null, new ForgetDeploymentOptions(), Own)).Message);
    }

    [Fact]
    public void Entries_are_the_same_whatever_the_key_case_order_number_spelling_or_echoed_name()
    {
        var a = Uld("/a", "/b");
        var b = JsonNode.Parse("""{"assistants": [{"alpha": 1, "path": "/a"}, {"Path": "/b", "Alpha": "1.0"}], "ALPHAMIN": 2, "base": "/models/target", "kind": "Uld"}""")!;
        Assert.True(DeploymentEntry.Same(a, b));
        Assert.True(DeploymentEntry.Same(a, DeploymentEntry.Renamed(a, "books-staging-fr-1")));
        Assert.False(DeploymentEntry.Same(a, Uld("/b", "/a"))); // the order of assistants is part of the entry
        Assert.False(DeploymentEntry.Same(a, Uld("/a")));
        var weighted = Uld("/a", "/b");
        weighted["Assistants"]![1]!["Alpha"] = 1.2;
        Assert.False(DeploymentEntry.Same(a, weighted));
        Assert.False(DeploymentEntry.Same(a, null));
    }

    [Fact]
    public void The_gate_passes_at_its_thresholds_and_fails_just_beyond_them()
    {
        SetMetrics M(double? knowMem, double verbMem) => new(knowMem, verbMem, 10);
        // Thresholds exact in binary: 0.25 + margin 0.125 = 0.375, ratio 0.5 × 0.8 = 0.4.
        var pass = GateDecision.Decide("s", M(0.9, 1), M(0.375, 0.375), M(0.25, 0.25), M(0.8, 1), M(0.4, 0.5), 0.125, 0.5, 0.5);
        Assert.True(pass.Passed, string.Join("; ", pass.Reasons()));
        Assert.Equal(4, pass.Checks.Count);
        Assert.Empty(pass.Reasons());

        var fail = GateDecision.Decide("s", M(0.9, 1), M(0.3751, 0.375), M(0.25, 0.25), M(0.8, 1), M(0.3999, 0.5), 0.125, 0.5, null);
        Assert.False(fail.Passed);
        Assert.Equal(["forget knowmem 0.375 is not <= 0.375 (holdout level 0.25 + margin 0.125)", "retain knowmem 0.4 is not >= 0.4 (0.5 × before 0.8)"], fail.Reasons());

        // Text and conversation data have no questions: VerbMem alone is gated.
        var text = GateDecision.Decide("s", M(null, 1), M(null, 0.1), M(null, 0.15), M(null, 1), M(null, 0.95), 0.1, 0.9, null);
        Assert.Equal(["forget verbmem", "retain verbmem"], text.Checks.Select(c => c.Name));
        Assert.True(text.Passed);
    }
}
