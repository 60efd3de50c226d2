using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Tests.Support;

namespace Uld.Tests.EndToEnd;

/// <summary>
/// The LogitServer and gateway as the containers run them: separate processes (<c>dotnet uld-logitserver.dll</c>), the
/// <c>health</c> subcommand's exit codes, and a real SIGTERM: the replica drains and exits 0 once what it admitted is done.
/// </summary>
[Collection(ServerCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class ProcessLifecycleTests(ServerFixture fixture)
{
    /// <summary>What `docker stop` and the kubelet send.</summary>
    private static async Task SigTermAsync(Process process)
    {
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    private static ProcessStartInfo App(string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in new[] { "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_HTTP_PORTS" }) start.Environment.Remove(name);
        return start;
    }

    private static async Task<(int Exit, string Out, string Err)> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task The_health_subcommand_exits_0_for_a_serving_server_and_1_with_one_line_otherwise()
    {
        var port = fixture.Server.BaseAddress.Port;
        // As in the image: no --url, the port from ASPNETCORE_HTTP_PORTS.
        var start = App("uld-logitserver.dll", "health");
        start.Environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (exit, stdout, _) = await RunAsync(start);
        Assert.Equal(0, exit);
        Assert.StartsWith($"healthy: http://127.0.0.1:{port}/health answered 200", stdout);

        var closed = LoopbackPort.Free();
        foreach (var dll in new[] { "uld-logitserver.dll", "uld-gateway.dll" })
        {
            var (down, _, stderr) = await RunAsync(App(dll, "health", "--url", $"http://127.0.0.1:{closed}"));
            Assert.Equal(1, down);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("unhealthy:", stderr);
        }
    }

    [Fact]
    public async Task On_SIGTERM_a_replica_refuses_new_requests_finishes_the_admitted_ones_and_exits_0()
    {
        var port = LoopbackPort.Free();
        var start = App("uld-logitserver.dll", "--urls", $"http://127.0.0.1:{port}");
        start.Environment["LogitServer__Deployments__0__Name"] = "stories";
        start.Environment["LogitServer__Deployments__0__Kind"] = "Plain";
        start.Environment["LogitServer__Deployments__0__Model"] = fixture.BaseDirectory;
        start.Environment["Drain__GracePeriodSeconds"] = "20";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitUntilAsync(async () => (await TryGetAsync(http, "/health")) == HttpStatusCode.OK, process, "the server never became healthy");

            // An admitted request that is still uploading its body: the drain must wait for it, however long the
            // generations take, so everything below happens during the drain.
            var body = Encoding.UTF8.GetBytes(HttpApi.Chat("stories", "Once upon a time", 5).ToJsonString());
            using var slow = new TcpClient();
            await slow.ConnectAsync(IPAddress.Loopback, port);
            var wire = slow.GetStream();
            await wire.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            await wire.WriteAsync(body.AsMemory(0, 10));
            await WaitUntilAsync(async () => (await http.GetStringAsync("/metrics")).Split('\n')
                .Any(l => l.StartsWith("http_requests_in_progress", StringComparison.Ordinal) && l.Contains("/v1/chat/completions") && l.EndsWith(" 1", StringComparison.Ordinal)),
                process, "the slow request was never admitted");

            await SigTermAsync(process);
            await WaitUntilAsync(async () => (await TryGetAsync(http, "/health")) == HttpStatusCode.ServiceUnavailable, process, "/health never said draining");
            var (status, error, response) = await HttpApi.PostAsync(http, "/v1/chat/completions", HttpApi.Chat("stories", "Lily had a dog", 5));
            Assert.Equal(503, status);
            Assert.Equal(ReplicaDraining.ErrorCode, error!["error"]!["code"]!.GetValue<string>());
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.False(process.HasExited);

            // The admitted request completes normally, then the process exits cleanly.
            await wire.WriteAsync(body.AsMemory(10));
            var answer = await new StreamReader(wire).ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 200", answer);
            Assert.Contains("\"finish_reason\"", answer);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {await stderr}");
            Assert.DoesNotContain("Unhandled exception", await stderr + await stdout);
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    private static async Task<HttpStatusCode?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Process process, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(process.HasExited, $"{failure}: the process exited with {(process.HasExited ? process.ExitCode : 0)}");
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail(failure);
    }
}
