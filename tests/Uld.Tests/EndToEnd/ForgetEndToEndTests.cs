using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Admin;
using Uld.Contracts.Forget;
using Uld.Gateway;
using Uld.Gateway.Security;
using Uld.Tests.Support;

namespace Uld.Tests.EndToEnd;

/// <summary>
/// Forget requests against a running stack: LogitServer (the default deployments of models/deployments.json, its admin
/// API on) behind the gateway, and the forget service. Two requests are submitted one after another against the plain
/// TOFU-mini target, combined by retraining one assistant on their union; both are trained, gated and deployed while 8
/// SSE streams through the gateway keep running — no restart, every stream ends with [DONE] — and afterwards the
/// serving deployment has forgotten each request's answers (corpus metrics within the gate) and kept the retain ones.
/// (Summed into the default ULD deployment, the second request's gate rejects the change: with these short trainings
/// three summed assistants keep 0.33× of the retain KnowMem the deployment had — docs/FORGET-REQUESTS.md, *Combination*.)
/// </summary>
[Trait(Category.Name, Category.Slow)]
public sealed class ForgetEndToEndTests : IDisposable
{
    private const string ApiKey = "sk-e2e";
    private const string Deployment = ForgetServiceHost.Deployment;
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [EndToEndFact]
    public async Task Two_requests_go_live_one_after_another_under_streaming_load_and_each_is_forgotten()
    {
        var serverSettings = RepositoryModels.DefaultDeploymentSettings();
        await using var server = await LogitServerHost.StartAsync(AdminApi.Enabled(serverSettings));
        var (gateway, gatewayAddress) = await GatewayApp.StartOnLoopbackAsync(new Dictionary<string, string?>
        {
            ["Gateway:Clusters:local:Replicas:0"] = server.BaseAddress.ToString(),
            ["Gateway:Clusters:local:Models:0"] = Deployment,
            ["Gateway:ApiKeys:0:Name"] = "e2e",
            ["Gateway:ApiKeys:0:Sha256"] = ApiKeyStore.Hash(ApiKey),
            ["Gateway:ApiKeys:0:RequestsPerMinute"] = "100000",
            ["Gateway:HealthCheckInterval"] = "00:00:01",
        });
        try
        {
            var settings = ForgetServiceHost.Settings(_temp.Path, server.BaseAddress);
            settings[$"Forget:Deployments:{Deployment}:GateMaxRecords"] = "10";
            settings["Forget:LogitServerAdminKey"] = AdminApi.Key;
            settings[$"Forget:Deployments:{Deployment}:Combination"] = "Union";
            // The union of two requests is 10 answers: 32 steps left the second one at forget KnowMem 0.208 against a
            // threshold of 0.181 (rejected), 48 steps the first one at forget VerbMem 0.232 against 0.219; 64 for both.
            settings[$"Forget:Deployments:{Deployment}:TrainArguments:3"] = "64";
            await using var service = await ForgetServiceHost.StartAsync(settings);

            // 8 streams through the gateway, each opened again as soon as it ends, until both requests are live.
            using var stop = new CancellationTokenSource();
            using var client = new HttpClient { BaseAddress = gatewayAddress, Timeout = TimeSpan.FromMinutes(5) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
            await WaitForGatewayAsync(client);
            var streams = Enumerable.Range(0, 8).Select(i => StreamUntilAsync(client, i, stop.Token)).ToList();

            using var http = service.Client();
            var ids = new List<string>();
            foreach (var author in new[] { TofuRequestData.RequestAuthor, TofuRequestData.SecondRequestAuthor })
            {
                var (status, body, _) = await HttpApi.PostAsync(http, ForgetRoutes.Requests, new JsonObject
                {
                    ["deployment"] = Deployment,
                    ["forget"] = new JsonArray([.. TofuRequestData.Records(author, 5).Select(r => System.Text.Json.JsonSerializer.SerializeToNode(r))]),
                    ["submitted_by"] = $"subject-{author}",
                });
                Assert.True(status == 202, body?.ToJsonString());
                ids.Add(body!["id"]!.GetValue<string>());
            }
            var views = new List<JsonNode>();
            foreach (var id in ids) views.Add(await service.WaitFinalAsync(id, TimeSpan.FromMinutes(30)));
            await stop.CancelAsync();
            var finished = (await Task.WhenAll(streams)).Sum();

            Assert.All(views, v => Assert.True(v["state"]!.GetValue<string>() == ForgetStates.Deployed, v.ToJsonString()));
            Assert.True(views[0]["live_at"]!.GetValue<DateTimeOffset>() < views[1]["live_at"]!.GetValue<DateTimeOffset>());
            Assert.True(finished >= 16, $"{finished} streams finished while the requests were processed");

            // The target is now a ULD deployment over one assistant, the second request's, trained on both requests' answers.
            var deployed = (await AdminListAsync(server.BaseAddress)).Data.Single(d => d.Name == Deployment);
            Assert.Equal(("Uld", Path.Combine(service.DataDirectory, "requests", ids[1], "assistant")), (deployed.Kind, deployed.Spec["Assistant"]!.GetValue<string>()));
            Assert.Equal(["assistant", "base"], deployed.ModelSha256.Keys.Order());
            Assert.Equal(3, deployed.Version);
            Assert.Equal(10, File.ReadLines(Path.Combine(service.DataDirectory, "requests", ids[1], "union-forget.jsonl")).Count());
            Assert.DoesNotContain((await AdminListAsync(server.BaseAddress)).Data, d => d.Name.Contains("-staging-", StringComparison.Ordinal));

            // Each request's answers are forgotten by what is served now, and the retain sample is kept, by the gate's own measures.
            foreach (var (id, view) in ids.Zip(views))
            {
                var gate = view["gate"]!;
                var now = await EvaluateAsync(server.BaseAddress, Path.Combine(service.DataDirectory, "requests", id, "forget.jsonl"), settings);
                var level = gate["holdout"]!["knowmem"]!.GetValue<double>() + gate["forget_margin"]!.GetValue<double>();
                Assert.True(now.ForgetKnowMem <= level, $"{id}: forget KnowMem {now.ForgetKnowMem} above {level}");
                var keep = views[0]["gate"]!["retain_before"]!["knowmem"]!.GetValue<double>() * ForgetServiceHost.RetainRatio;
                Assert.True(now.RetainKnowMem >= keep, $"{id}: retain KnowMem {now.RetainKnowMem} below {keep}");
            }
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
    }

    private static async Task WaitForGatewayAsync(HttpClient client)
    {
        for (var i = 0; i < 100; i++)
        {
            using var response = await client.GetAsync("/v1/models");
            if (response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync()).Contains(Deployment, StringComparison.Ordinal)) return;
            await Task.Delay(200);
        }
        throw new TimeoutException("the gateway did not list the deployment.");
    }

    /// <summary>Streams chat completions one after another until stopped; every stream must end with [DONE] and no error event.</summary>
    private static async Task<int> StreamUntilAsync(HttpClient client, int index, CancellationToken stop)
    {
        var finished = 0;
        while (!stop.IsCancellationRequested)
        {
            var body = HttpApi.Chat(Deployment, $"Tell me about author number {index}.", 48);
            body["stream"] = true;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            var events = new List<(string? Event, string Data)>();
            await foreach (var e in HttpApi.ReadEventsAsync(response)) events.Add(e);
            Assert.DoesNotContain(events, e => e.Event == "error");
            Assert.Equal("[DONE]", events[^1].Data);
            Assert.Single(events, e => e.Data == "[DONE]");
            finished++;
        }
        return finished;
    }

    private static async Task<DeployedList> AdminListAsync(Uri server)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", AdminApi.Key);
        return (await http.GetFromJsonAsync<DeployedList>(new Uri(server, AdminRoutes.Deployments)))!;
    }

    private async Task<(double ForgetKnowMem, double RetainKnowMem)> EvaluateAsync(Uri server, string forget, Dictionary<string, string?> settings)
    {
        var output = _temp[$"eval/{Guid.NewGuid():N}.json"];
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     AppBuilds.Eval, "corpus", "--url", server.ToString().TrimEnd('/'), "-m", Deployment, "--forget", forget,
                     "--retain", settings[$"Forget:Deployments:{Deployment}:RetainFile"]!, "--max-records", "10",
                     "--prefix-tokens", "8", "--continuation-tokens", "24", "--max-answer-tokens", "48", "-o", output,
                 })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var printed = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, printed);
        var result = JsonNode.Parse(await File.ReadAllTextAsync(output))!["results"]![0]!;
        return (result["forget"]!["knowmem"]!.GetValue<double>(), result["retain"]!["knowmem"]!.GetValue<double>());
    }
}
