using System.Net;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.Web;

/// <summary>
/// The <c>health</c> subcommand container health checks run (the .NET images have no curl): it finds the server's port
/// the way ASP.NET Core does and exits 0 only on a 2xx from /health. /metrics moves to its own port with Metrics:Port.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HealthCommandTests(ServerFixture fixture)
{
    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void The_probe_address_follows_the_settings_ASP_NET_Core_listens_on()
    {
        Assert.Equal("http://127.0.0.1:8080/health", HealthCommand.ProbeAddress([], Env()).ToString());
        Assert.Equal("http://127.0.0.1:5000/health", HealthCommand.ProbeAddress([], Env(("ASPNETCORE_HTTP_PORTS", "5000;5001"))).ToString());
        Assert.Equal("http://127.0.0.1:7000/health", HealthCommand.ProbeAddress([], Env(("ASPNETCORE_URLS", "http://+:7000;http://*:7001"), ("ASPNETCORE_HTTP_PORTS", "5000"))).ToString());
        Assert.Equal("http://127.0.0.1:7002/health", HealthCommand.ProbeAddress([], Env(("DOTNET_URLS", "http://0.0.0.0:7002"))).ToString());
        Assert.Equal("http://127.0.0.1:7003/health", HealthCommand.ProbeAddress(["--urls", "http://[::]:7003"], Env(("ASPNETCORE_URLS", "http://+:1"))).ToString());
        Assert.Equal("http://localhost:9/health", HealthCommand.ProbeAddress(["--url", "http://localhost:9/"], Env()).ToString());
        Assert.Throws<FormatException>(() => HealthCommand.ProbeAddress(["--url", "ftp://x/"], Env()));
    }

    [Fact]
    public async Task A_serving_LogitServer_is_healthy_and_a_closed_port_is_not()
    {
        var (code, line) = await HealthCommand.ProbeAsync(new Uri(fixture.Server.BaseAddress, "/health"));
        Assert.Equal(HealthCommand.Healthy, code);
        Assert.StartsWith("healthy:", line);

        var closed = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}/health");
        (code, line) = await HealthCommand.ProbeAsync(closed);
        Assert.Equal(HealthCommand.Unhealthy, code);
        Assert.StartsWith($"unhealthy: {closed} did not answer", line);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public async Task A_non_2xx_health_answer_is_unhealthy_with_its_status()
    {
        // The LogitServer answers 404 on an unknown path: the probe of a wrong base path must not pass.
        var (code, line) = await HealthCommand.ProbeAsync(new Uri(fixture.Server.BaseAddress, "/nope/health"));
        Assert.Equal(HealthCommand.Unhealthy, code);
        Assert.Contains("answered 404", line);
    }

    [Fact]
    public async Task With_Metrics_Port_set_metrics_leave_the_API_port_for_their_own()
    {
        var port = LoopbackPort.Free();
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings[MetricsPort.PortKey] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var server = await LogitServerHost.StartAsync(settings);
        var (status, _, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("stories", "Once upon a time", 3));
        Assert.Equal(200, status); // so the per-deployment series exist

        foreach (var spelling in new[] { "/metrics", "/METRICS", "/metrics/", "/%6Detrics" })
        {
            using var api = await server.Http.GetAsync(spelling);
            Assert.True(api.StatusCode == HttpStatusCode.NotFound, $"{spelling} on the API port: {(int)api.StatusCode}");
            Assert.DoesNotContain("uld_generated_tokens_total", await api.Content.ReadAsStringAsync());
        }
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Contains("uld_generated_tokens_total{deployment=\"stories\"}", metrics);
        using var health = await server.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task With_Metrics_Port_set_the_gateway_answers_metrics_on_that_port_only()
    {
        var port = LoopbackPort.Free();
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Clusters:local:Models:0"] = "stories",
            ["Gateway:Clusters:local:Replicas:0"] = fixture.Server.BaseAddress.ToString(),
            ["Gateway:RequireApiKey"] = "false",
            [MetricsPort.PortKey] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var (gateway, address) = await Uld.Gateway.GatewayApp.StartOnLoopbackAsync(settings);
        await using var running = gateway;
        using var http = new HttpClient();
        foreach (var spelling in new[] { "/metrics", "/Metrics", "/metrics/", "/%6detrics", "//metrics" })
        {
            using var api = await http.GetAsync(new Uri(address.GetLeftPart(UriPartial.Authority) + spelling));
            Assert.True(api.StatusCode == HttpStatusCode.NotFound, $"{spelling} on the API port: {(int)api.StatusCode}");
        }
        Assert.Contains("http_requests_received_total", await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"));
        using var health = await http.GetAsync(new Uri(address, "/health"));
        Assert.NotEqual(HttpStatusCode.NotFound, health.StatusCode);
    }

    [Fact]
    public async Task Without_Metrics_Port_metrics_stay_on_the_API_port()
    {
        using var metrics = await fixture.Server.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("nine")]
    [InlineData("-1")]
    public async Task A_metrics_port_that_is_not_a_port_stops_start_up_naming_the_key(string value)
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        settings[MetricsPort.PortKey] = value;
        var e = await Assert.ThrowsAsync<StartupConfigurationException>(() => LogitServerHost.StartAsync(settings));
        Assert.Contains("Metrics:Port", e.Message);
    }
}
