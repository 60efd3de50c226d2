using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>The registration list: every entry is exactly one kind, and what kinds declare is what the options and requests have.</summary>
public sealed class DeploymentKindsTests
{
    [Fact]
    public void Every_entry_selects_exactly_one_kind_and_an_unknown_name_none()
    {
        foreach (var name in new[] { "Plain", "uld", "ULD", "Offset" })
        {
            foreach (var fused in new[] { null, "", "graph.onnx" })
            {
                var d = new DeploymentOptions { Name = "x", Kind = name, Fused = fused };
                Assert.Single(DeploymentKinds.All, k => k.Name.Equals(name, StringComparison.OrdinalIgnoreCase) && k.Selects(d));
            }
        }
        Assert.Null(DeploymentKinds.Of(new DeploymentOptions { Name = "x", Kind = "Ulld" }));
        Assert.Equal(["Plain", "Uld", "Offset"], DeploymentKinds.Names.Take(3)); // a kind added later comes after these
        Assert.Equal("Uld", DeploymentKinds.Canonical("uLD"));
    }

    [Fact]
    public void Every_declared_setting_is_a_deployment_option_and_every_option_belongs_to_a_kind_or_to_all()
    {
        var options = typeof(DeploymentOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet();
        Assert.All(DeploymentKinds.KindSettings, s => Assert.Contains(s, options));
        string[] common = [nameof(DeploymentOptions.Name), nameof(DeploymentOptions.Kind), nameof(DeploymentOptions.ExecutionProvider), nameof(DeploymentOptions.DeviceId)];
        Assert.Empty(options.Except(DeploymentKinds.KindSettings).Except(common));
    }

    [Fact]
    public void Every_control_a_kind_accepts_is_a_request_field_and_every_request_control_has_a_kind()
    {
        var fields = RequestControls.Of(new Uld.Contracts.OpenAi.ChatCompletionRequest()).Select(c => c.Field).ToList();
        var accepted = DeploymentKinds.All.SelectMany(k => k.ControlFields).Distinct().ToList();
        Assert.Equal(fields.Order(), accepted.Order());
        Assert.Equal("ULD", DeploymentKinds.Accepting(RequestControls.Alpha));
    }
}
