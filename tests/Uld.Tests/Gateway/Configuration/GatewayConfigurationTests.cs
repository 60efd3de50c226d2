using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;
using Uld.Gateway;
using Uld.Gateway.Security;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.Gateway.Configuration;

/// <summary>A gateway whose configuration is not exactly what its schema says does not start; the message names the key.</summary>
public sealed class GatewayConfigurationTests
{
    private static Dictionary<string, string?> Valid() => GatewayStack.GatewaySettings([new Uri("http://127.0.0.1:9")]);

    private static string StartUpError(Action<Dictionary<string, string?>> change)
    {
        var settings = Valid();
        change(settings);
        var error = Assert.Throws<InvalidOperationException>(() =>
            GatewayApp.Build(["--urls", "http://127.0.0.1:0"], b => b.Configuration.AddInMemoryCollection(settings)));
        Assert.DoesNotContain('\n', error.Message); // printed as one line
        return error.Message;
    }

    [Fact]
    public void The_valid_configuration_builds()
    {
        var settings = Valid();
        var app = GatewayApp.Build(["--urls", "http://127.0.0.1:0"], b => b.Configuration.AddInMemoryCollection(settings));
        using var _ = (IDisposable)app;
        // The configuration becomes YARP's: the one cluster with its replica, and a route per model it serves.
        var proxy = app.Services.GetRequiredService<IProxyConfigProvider>().GetConfig();
        var cluster = Assert.Single(proxy.Clusters);
        Assert.Equal("stories-pool", cluster.ClusterId);
        Assert.Equal("http://127.0.0.1:9/", Assert.Single(cluster.Destinations!).Value.Address.TrimEnd('/') + "/");
        Assert.NotEmpty(proxy.Routes);
        Assert.All(proxy.Routes, r => Assert.Equal("stories-pool", r.ClusterId));
    }

    [Fact]
    public void Settings_come_from_a_config_file_too_and_a_missing_file_stops_start_up()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp["gateway.json"], """{ "Gateway": { "RequireApiKeys": false } }""");
        var misspelt = Assert.Throws<InvalidOperationException>(() =>
            GatewayApp.Build(["--urls", "http://127.0.0.1:0", "--config", temp["gateway.json"]], b => b.Configuration.AddInMemoryCollection(Valid())));
        Assert.Contains("Gateway:RequireApiKeys", misspelt.Message); // the file's key, so the file was read
        var missing = Assert.Throws<StartupConfigurationException>(() =>
            GatewayApp.Build(["--urls", "http://127.0.0.1:0", "--config", temp["none.json"]], b => b.Configuration.AddInMemoryCollection(Valid())));
        Assert.Equal($"--config {temp["none.json"]} does not exist.", missing.Message);
    }

    [Fact]
    public void A_misspelt_key_stops_start_up_naming_it()
    {
        var message = StartUpError(s => s["Gateway:ApiKeys:1:Models:0"] = "stories-uld");
        Assert.Contains("Gateway:ApiKeys:1:Models", message);
    }

    [Theory]
    [InlineData("Gateway:AlphaFloors:stories-uld", "0.8", "Gateway:AlphaFloors")] // the floor comes from the replicas now
    [InlineData("Gateway:Clusters:stories-pool:Replica:0", "http://x", "Gateway:Clusters:stories-pool:Replica")]
    [InlineData("Gateway:Experiments:stories-ab:Variants:0:Weigth", "2", "Gateway:Experiments:stories-ab:Variants:0:Weigth")]
    [InlineData("Gateway:RequireApiKeys", "false", "Gateway:RequireApiKeys")]
    public void Unknown_keys_anywhere_under_gateway_stop_start_up(string key, string value, string named)
    {
        Assert.Contains(named, StartUpError(s => s[key] = value));
    }

    [Theory]
    [InlineData("Gateway:ApiKeys:3:RequestsPerMinute", "-1", "Gateway:ApiKeys:3:RequestsPerMinute")]
    [InlineData("Gateway:ApiKeys:3:RequestsPerMinute", "0", "Gateway:ApiKeys:3:RequestsPerMinute")]
    [InlineData("Gateway:Experiments:stories-ab:Variants:1:Weight", "0", "Gateway:Experiments:stories-ab:Variants:1:Weight")]
    [InlineData("Gateway:Experiments:stories-ab:Variants:1:Weight", "-3", "Gateway:Experiments:stories-ab:Variants:1:Weight")]
    [InlineData("Gateway:Experiments:stories-ab:Variants:1:Model", "no-such-model", "no-such-model")]
    [InlineData("Gateway:Experiments:stories-ab:Variants:1:Name", "uld", "variant 'uld' is named twice")]
    [InlineData("Gateway:ApiKeys:1:AllowedModels:0", "no-such-model", "Gateway:ApiKeys:1:AllowedModels")]
    [InlineData("Gateway:ApiKeys:1:Name", "team-a", "the name 'team-a' is used twice")]
    [InlineData("Gateway:ApiKeys:1:Sha256", "not-a-hash", "Gateway:ApiKeys:1:Sha256")]
    [InlineData("Gateway:ApiKeys:1:AlphaMin", "2", "AlphaMin (2) is above AlphaMax")]
    [InlineData("Gateway:Clusters:stories-pool:Replicas:1", "ftp://x", "Gateway:Clusters:stories-pool:Replicas")]
    [InlineData("Gateway:Clusters:other:Models:0", "stories", "model 'stories' is served by two clusters")]
    [InlineData("Gateway:MaxRequestBodyBytes", "0", "Gateway:MaxRequestBodyBytes")]
    [InlineData("Gateway:HealthCheckInterval", "-00:00:01", "Gateway:HealthCheckInterval")]
    public void Out_of_range_and_duplicate_values_stop_start_up(string key, string value, string named)
    {
        var message = StartUpError(s =>
        {
            s[key] = value;
            if (key == "Gateway:ApiKeys:1:AlphaMin") s["Gateway:ApiKeys:1:AlphaMax"] = "1";
            if (key.StartsWith("Gateway:Clusters:other", StringComparison.Ordinal)) s["Gateway:Clusters:other:Replicas:0"] = "http://127.0.0.1:10";
        });
        Assert.Contains(named, message);
    }

    [Fact]
    public void The_same_key_hash_twice_stops_start_up()
    {
        Assert.Contains("configured twice", StartUpError(s => s["Gateway:ApiKeys:1:Sha256"] = ApiKeyStore.Hash(GatewayStack.TeamKey)));
    }
}
