using System.Diagnostics;
using Uld.Tests.Support;
using Xunit.Abstractions;

namespace Uld.Tests.EndToEnd;

/// <summary>
/// tools/openai-clients run against a real LogitServer: the official openai SDK (chat, streaming,
/// zodResponseFormat) and LangChain.js's ChatOpenAI (withStructuredOutput by JSON schema and by function calling,
/// bindTools with a forced tool), on the random-weight Qwen3 model whose chat template takes tools. Installs the
/// pinned packages with npm ci into a temporary copy, so npm and its registry must be reachable.
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class OpenAiClientsScriptTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_openai_sdk_and_langchain_pass_every_check()
    {
        var source = Path.Combine(SharedPaths.RepositoryRoot, "tools", "openai-clients");
        foreach (var file in new[] { "package.json", "package-lock.json", "check.mjs" }) File.Copy(Path.Combine(source, file), _temp[file]);
        var (installed, installLog) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5));
        Assert.True(installed == 0, $"npm ci failed (npm and its registry are needed here):\n{installLog}");

        await using var server = await LogitServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["LogitServer:Deployments:0:Name"] = "qwen3",
            ["LogitServer:Deployments:0:Kind"] = "Plain",
            ["LogitServer:Deployments:0:Model"] = RandomChatModels.Qwen3,
        });
        var (exit, log) = await RunAsync("node", ["check.mjs", "--base-url", new Uri(server.BaseAddress, "/v1").ToString(), "--model", "qwen3"], TimeSpan.FromMinutes(5));
        output.WriteLine(log);
        Assert.True(exit == 0, log);
        Assert.Contains("6 passed, 0 failed", log);
    }

    private async Task<(int Exit, string Output)> RunAsync(string command, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = _temp.Path, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
