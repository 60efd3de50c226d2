using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Uld.LogitServer;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.LogitServer.Api;

/// <summary>One structured line per completion request; health probes and ASP.NET Core's request lines stay quiet.</summary>
[Collection(ServerCollection.Name)]
public sealed class RequestLoggingTests(ServerFixture fixture)
{
    [Fact]
    public async Task Each_completion_request_logs_one_structured_line_and_probes_log_nothing()
    {
        var capture = new LogCapture();
        var (app, address) = await LoopbackHost.StartAsync((args, configure) => LogitServerApp.Build(args, builder =>
        {
            configure(builder);
            builder.Logging.SetMinimumLevel(LogLevel.Information); // what production runs at
            builder.Logging.AddProvider(capture);
        }), ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = address };
            for (var i = 0; i < 3; i++) (await http.GetAsync("/health")).EnsureSuccessStatusCode();
            Assert.DoesNotContain(capture.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level < LogLevel.Warning);

            var body = HttpApi.Chat("stories-uld", "Once upon a time", 4);
            body["uld_alpha"] = 1.5;
            Assert.Equal(200, (await HttpApi.PostAsync(http, "/v1/chat/completions", body)).Status);
            body["uld_alpha"] = 0.1;
            Assert.Equal(400, (await HttpApi.PostAsync(http, "/v1/chat/completions", body)).Status);
            await app.StopAsync();
        }

        var lines = capture.Entries.Where(e => e.Category.EndsWith(".CompletionLog", StringComparison.Ordinal)).Select(e => e.State).ToList();
        Assert.Equal(2, lines.Count);
        var served = lines[0];
        Assert.StartsWith("chatcmpl-", (string)served["RequestId"]!);
        Assert.Equal(("stories-uld", 1.5, 0.1), ((string)served["Model"]!, (double)served["Alpha"]!, (double)served["RelativeTop"]!));
        Assert.Equal((4, "length", 200), ((int)served["CompletionTokens"]!, (string)served["FinishReason"]!, (int)served["Status"]!));
        Assert.True((int)served["PromptTokens"]! > 3);
        Assert.Equal((400, null), ((int)lines[1]["Status"]!, lines[1]["Model"]));
    }

    [Fact]
    public async Task Log_format_json_selects_the_json_console_formatter_and_unknown_formats_stop_start_up()
    {
        var settings = ServerFixture.Settings(fixture.BaseDirectory, fixture.AssistantDirectory);
        var app = LogitServerApp.Build(["--log-format", "json"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await using (app)
        {
            Assert.Equal("json", app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
        }
        var error = Assert.Throws<DeploymentConfigurationException>(() => LogitServerApp.Build(["--log-format", "xml"]));
        Assert.Contains("--log-format", error.Message);
    }
}
