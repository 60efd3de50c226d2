using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Uld.Gateway;
using Uld.Gateway.Policy;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.Gateway;

/// <summary>One structured line per model request: request id, key name (never the key), model, variant, α, status.</summary>
[Collection(ServerCollection.Name)]
public sealed class GatewayLoggingTests(ServerFixture fixture)
{
    [Fact]
    public async Task Each_completion_request_logs_one_line_with_the_key_name_and_the_alpha_served()
    {
        var stack = await fixture.SharedGatewayAsync();
        var capture = new CapturingLoggerProvider();
        var (gateway, address) = await LoopbackHost.StartAsync((args, configure) => GatewayApp.Build(args, builder =>
        {
            configure(builder);
            builder.Logging.AddProvider(capture);
            builder.Logging.AddFilter<CapturingLoggerProvider>(typeof(CompletionLog).FullName, LogLevel.Information);
        }), GatewayStack.GatewaySettings(stack.Relays.Select(r => r.Address)));
        await using var _ = gateway;
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayStack.TeamKey);

        var body = HttpApi.Chat("stories-ab", "Once upon a time", 2);
        body["user"] = "alice";
        var served = await HttpApi.PostAsync(client, "/v1/chat/completions", body);
        Assert.Equal(200, served.Status);
        body["model"] = "stories-uld";
        body["uld_alpha"] = 0.1;
        Assert.Equal(403, (await HttpApi.PostAsync(client, "/v1/chat/completions", body)).Status);

        var lines = capture.Messages.ToList();
        Assert.Equal(2, lines.Count);
        var variant = served.Response.Headers.GetValues(AdmissionMiddleware.VariantHeader).Single();
        var deployment = served.Body!["model"]!.GetValue<string>();
        Assert.Matches($"^request \\S+ key=team-a model=stories-ab deployment={deployment} variant={variant} alpha=(1|-) status=200 ms=", lines[0]);
        Assert.Matches("^request \\S+ key=team-a path=/v1/chat/completions refused status=403 code=alpha_below_floor ms=", lines[1]);
        Assert.All(lines, line => Assert.DoesNotContain(GatewayStack.TeamKey, line));
    }

    [Fact]
    public async Task A_replica_that_does_not_answer_is_one_warning_line_per_outage_without_a_stack_trace()
    {
        var capture = new EverythingLoggerProvider();
        var down = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}/");
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Clusters:local:Models:0"] = "stories",
            ["Gateway:Clusters:local:Replicas:0"] = down.ToString(),
            ["Gateway:RequireApiKey"] = "false",
            ["Gateway:HealthCheckInterval"] = "00:00:00.2",
        };
        var (gateway, _) = await LoopbackHost.StartAsync((args, configure) => GatewayApp.Build(args, builder =>
        {
            configure(builder);
            builder.Logging.AddProvider(capture);
        }), settings);
        await using (gateway)
        {
            await Task.Delay(TimeSpan.FromSeconds(2)); // about ten probes and listings of the dead replica
            await gateway.StopAsync();
        }
        var entries = capture.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        var outage = Assert.Single(entries, e => e.Message.Contains("does not answer", StringComparison.Ordinal));
        Assert.Contains(down.ToString(), outage.Message);
        Assert.DoesNotContain('\n', outage.Message);
        Assert.All(entries, e => Assert.True(e.Exception is null, $"{e.Category} logged an exception: {e.Message}"));
    }

    /// <summary>Every entry any category logs at the levels the gateway's own filters let through.</summary>
    private sealed class EverythingLoggerProvider : ILoggerProvider
    {
        public sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception);

        public ConcurrentQueue<Entry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(EverythingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception));
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName == typeof(CompletionLog).FullName ? this : null);

        public void Dispose()
        {
        }

        /// <summary>Captures the completion log only (null provider: another category, dropped).</summary>
        private sealed class Logger(CapturingLoggerProvider? provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider?.Messages.Enqueue(formatter(state, exception));
        }
    }
}
