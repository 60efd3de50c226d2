using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Uld.Contracts.Admin;
using Uld.Contracts.Models;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;
using Uld.Web;

namespace Uld.Tests.LogitServer.Deployments;

/// <summary>
/// The admin API on a real LogitServer serving the default models (models/deployments.json): deployments listed with
/// their versions and model hashes, loaded, replaced under running streams, refused without changing what serves,
/// unloaded, and the admin key held against every spelling of the path (docs/DESIGN.md, *Runtime deployments*).
/// Tests that change nothing (refused changes included) share one server; the others start their own.
/// </summary>
public sealed class RuntimeDeploymentsTests(RuntimeDeploymentsTests.UnchangedServer shared) : IClassFixture<RuntimeDeploymentsTests.UnchangedServer>
{
    /// <summary>The default deployments with the admin API on, which no test may change.</summary>
    public sealed class UnchangedServer : IAsyncLifetime
    {
        public LogitServerHost Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await StartAsync();

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private static Task<LogitServerHost> StartAsync(string? runtimeFile = null) =>
        LogitServerHost.StartAsync(AdminApi.Enabled(RepositoryModels.DefaultDeploymentSettings(), runtimeFile));

    private static JsonObject Plain(string model) => new() { ["Kind"] = "Plain", ["Model"] = model };

    private static string OnnxSha256(string modelDirectory) => FileHash.Sha256(ModelDirectory.Open(modelDirectory).OnnxPath);

    private static async Task<string> GreedyAsync(LogitServerHost server, string model, string content = "Who wrote the novel?", int maxTokens = 24)
    {
        var (status, body, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat(model, content, maxTokens));
        Assert.True(status == 200, body?.ToJsonString());
        return HttpApi.ContentOf(body);
    }

    private static async Task<string[]> ModelIdsAsync(LogitServerHost server) =>
        JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToArray();

    [Fact]
    public async Task The_list_shows_every_configured_deployment_at_version_1_with_the_sha256_of_each_role()
    {
        var server = shared.Server;
        var list = await AdminApi.ListAsync(server.Http);

        Assert.Equal(["tofu-mini-target", "tofu-mini-uld", "tofu-mini-npo-gd"], list.Keys);
        Assert.All(list.Values, d => Assert.Equal(1, d["version"]!.GetValue<int>()));
        var (target, uld) = (list["tofu-mini-target"], list["tofu-mini-uld"]);
        Assert.Equal("Plain", target["kind"]!.GetValue<string>());
        Assert.Equal(OnnxSha256(RepositoryModels.Target), target["model_sha256"]!["model"]!.GetValue<string>());
        Assert.Equal("Uld", uld["kind"]!.GetValue<string>());
        Assert.Equal(
            new Dictionary<string, string> { ["base"] = OnnxSha256(RepositoryModels.Target), ["assistant"] = OnnxSha256(RepositoryModels.UldAssistant) },
            uld["model_sha256"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>()));
        // The spec is the deployments.json entry: what was set, not every default.
        Assert.Equal("SuppressOnly", uld["spec"]!["Rule"]!.GetValue<string>());
        Assert.Equal(2.0, uld["spec"]!["AlphaMin"]!.GetValue<double>());
        Assert.Null(uld["spec"]!["BetaMin"]);
        Assert.InRange(uld["load_seconds"]!.GetValue<double>(), 1e-6, 120);
        Assert.InRange(uld["loaded_at"]!.GetValue<DateTimeOffset>(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);

        var (status, one, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Get, AdminRoutes.Deployment("tofu-mini-uld"));
        Assert.Equal(200, status);
        Assert.True(JsonNode.DeepEquals(uld, one));
    }

    [Fact]
    public async Task A_new_name_is_served_at_version_1_and_listed_by_v1_models_at_once()
    {
        await using var server = await StartAsync();
        var expected = await GreedyAsync(server, "tofu-mini-npo-gd");

        var (status, body, response) = await AdminApi.PutAsync(server.Http, "npo-copy", Plain(RepositoryModels.NpoGd));
        Assert.True(status == 201, body?.ToJsonString());
        Assert.Equal(AdminRoutes.Deployment("npo-copy"), response.Headers.Location?.OriginalString);
        Assert.Equal(("npo-copy", 1, "Plain"), (body!["name"]!.GetValue<string>(), body["version"]!.GetValue<int>(), body["kind"]!.GetValue<string>()));

        Assert.Contains("npo-copy", await ModelIdsAsync(server));
        Assert.Equal(expected, await GreedyAsync(server, "npo-copy"));
        Assert.Equal(1, (await AdminApi.ListAsync(server.Http))["npo-copy"]["version"]!.GetValue<int>());
    }

    /// <summary>
    /// 8 SSE streams admitted to version 1 (4 running, 4 queued behind them) when version 2 replaces it: each ends
    /// with [DONE] and exactly the old model's text, while requests after the swap get the new model; then the old
    /// version drains and releases its sessions — but not the base session the ULD deployment still uses.
    /// </summary>
    [Fact]
    public async Task A_replacement_lets_running_streams_finish_on_the_old_version_and_serves_the_new_one_at_once()
    {
        var settings = AdminApi.Enabled(RepositoryModels.DefaultDeploymentSettings());
        settings["LogitServer:MaxBatchSize"] = "4";
        await using var server = await LogitServerHost.StartAsync(settings);
        var registry = server.App.Services.GetRequiredService<DeploymentRegistry>();
        var eos = ModelDirectory.Open(RepositoryModels.Target).Generation.EosTokenId!.Value;
        const string prompt = "Question: Where was the author born?\nAnswer:";
        JsonObject Long(bool stream)
        {
            var body = HttpApi.Chat("tofu-mini-target", prompt, 440);
            body["logit_bias"] = new JsonObject { [eos.ToString(System.Globalization.CultureInfo.InvariantCulture)] = -100 }; // never stops early
            body["stream"] = stream;
            return body;
        }
        var oldText = HttpApi.ContentOf((await HttpApi.PostAsync(server.Http, "/v1/chat/completions", Long(stream: false))).Body);
        var (targetShort, npoShort, uldShort) = (await GreedyAsync(server, "tofu-mini-target", prompt), await GreedyAsync(server, "tofu-mini-npo-gd", prompt),
            await GreedyAsync(server, "tofu-mini-uld", prompt));
        Assert.NotEqual(targetShort, npoShort);
        var old = registry.Find("tofu-mini-target")!;

        var opened = Enumerable.Range(0, 8).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var streams = opened.Select(async open =>
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                {
                    Content = new StringContent(Long(stream: true).ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
                };
                using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var events = new List<(string? Event, string Data)>();
                await foreach (var e in HttpApi.ReadEventsAsync(response))
                {
                    events.Add(e);
                    open.TrySetResult();
                }
                return events;
            }
            finally
            {
                open.TrySetResult(); // a stream that failed is reported by awaiting it below, not by waiting here forever
            }
        }).ToArray();
        await Task.WhenAll(opened.Select(o => o.Task)).WaitAsync(TimeSpan.FromMinutes(2));

        var (status, put, _) = await AdminApi.PutAsync(server.Http, "tofu-mini-target", Plain(RepositoryModels.NpoGd));
        var finishedAtSwap = streams.Count(s => s.IsCompleted);
        Assert.True(status == 200, put?.ToJsonString());
        Assert.Equal(2, put!["version"]!.GetValue<int>());
        Assert.Equal(OnnxSha256(RepositoryModels.NpoGd), put["model_sha256"]!["model"]!.GetValue<string>());
        // A request after the swap is the new version's, while the old one still streams.
        Assert.Equal(npoShort, await GreedyAsync(server, "tofu-mini-target", prompt));
        // The second half of the streams waits behind the first (MaxBatchSize 4): they cannot all have ended yet.
        Assert.True(finishedAtSwap < 8, "every stream had ended before the replacement was in: nothing overlapped");

        foreach (var events in await Task.WhenAll(streams))
        {
            Assert.DoesNotContain(events, e => e.Event == "error");
            Assert.Equal("[DONE]", events[^1].Data);
            Assert.Single(events, e => e.Data == "[DONE]");
            var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e.Data)!["choices"]![0]!).ToList();
            Assert.Equal(oldText, string.Concat(chunks.Select(c => c["delta"]?["content"]?.GetValue<string>())));
            Assert.Equal("length", chunks[^1]["finish_reason"]!.GetValue<string>());
        }

        // Drained and released; the target's session lives on for the ULD deployment over it.
        await old.Released.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => registry.Sessions.LoadedSessions == 3);
        Assert.Equal(uldShort, await GreedyAsync(server, "tofu-mini-uld", prompt));
        Assert.Equal(npoShort, await GreedyAsync(server, "tofu-mini-target", prompt));
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { "not json", "not valid JSON" },
        { "[1, 2]", "must be a JSON object" },
        { """{"Kind": "Plain", "Model": 5}""", "'Model'" },
        { """{"Kind": "Plain", "Model": "MODELS", "AlphaMin": "2"}""", "'AlphaMin'" },
        { """{"Kind": "Uldd", "Base": "MODELS"}""", "'Kind'" },
        { """{"Kind": 1, "Base": "MODELS"}""", "'Kind'" },
        { """{"Kind": "Plain", "Model": "MODELS", "Modle": "x"}""", "Modle" },
        { """{"Kind": "Plain", "Model": "/nonexistent/model"}""", "model directory /nonexistent/model does not exist" },
        { """{"Kind": "Uld", "Base": "MODELS"}""", "Assistant is required" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistant": "MODELS", "AlphaMin": 3, "AlphaMax": 2}""", "AlphaMin (deployment 'tofu-mini-target') must not exceed AlphaMax" },
        { """{"Name": "another-name", "Kind": "Plain", "Model": "MODELS"}""", "is not the path's deployment name 'tofu-mini-target'" },
        { """{"name": 7, "Kind": "Plain", "Model": "MODELS"}""", "is not the path's deployment name" },
        { """{"Kind": "Plain", "Model": "MODELS", "kind": "Uld"}""", "appears more than once" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistant": "MODELS", "Assistants": [{"Path": "MODELS"}]}""", "are both set" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistants": []}""", "Assistants (deployment 'tofu-mini-target') is empty" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistants": [{"Path": "MODELS"}, {"Path": "/nonexistent/assistant"}]}""", "Assistants:1:Path (deployment 'tofu-mini-target'): model directory /nonexistent/assistant does not exist" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistants": [{"Path": "MODELS", "Alpha": 0}]}""", "Assistants:0:Alpha (deployment 'tofu-mini-target') must be a finite number > 0" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistants": [{"Path": "MODELS", "Weight": 1}]}""", "Weight" },
        { """{"Kind": "Uld", "Base": "MODELS", "Assistants": [{"Path": "MODELS"}], "Fused": "MODELS/onnx/model.onnx"}""", "cannot serve Assistants" },
        { """{"Kind": "Plain", "Model": "MODELS", "Assistants": [{"Path": "MODELS"}]}""", "Assistants is not used by Plain deployments" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_body_is_a_400_naming_the_problem_and_the_old_version_keeps_serving(string body, string message)
    {
        var server = shared.Server;
        var before = await GreedyAsync(server, "tofu-mini-target");

        var (status, error, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Put, AdminRoutes.Deployment("tofu-mini-target"),
            body.Replace("MODELS", RepositoryModels.Target.Replace("\\", "\\\\"), StringComparison.Ordinal));

        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error!["error"]!["type"]!.GetValue<string>());
        Assert.Contains(message, error["error"]!["message"]!.GetValue<string>());
        Assert.Equal(1, (await AdminApi.ListAsync(server.Http))["tofu-mini-target"]["version"]!.GetValue<int>());
        Assert.Equal(before, await GreedyAsync(server, "tofu-mini-target"));
    }

    [Fact]
    public async Task A_load_that_fails_its_checks_leaves_the_old_version_serving()
    {
        using var temp = new TempDirectory();
        var corrupt = temp["target"];
        DirectoryCopy.Copy(RepositoryModels.Target, corrupt);
        File.AppendAllText(Path.Combine(corrupt, "generation_config.json"), "\n");
        var server = shared.Server;
        var before = await GreedyAsync(server, "tofu-mini-target");

        var (status, error, _) = await AdminApi.PutAsync(server.Http, "tofu-mini-target", Plain(corrupt));

        Assert.Equal(400, status);
        Assert.Contains("generation_config.json", error!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(1, (await AdminApi.ListAsync(server.Http))["tofu-mini-target"]["version"]!.GetValue<int>());
        Assert.Equal(before, await GreedyAsync(server, "tofu-mini-target"));
        // A ULD assistant with another tokenizer (re-hashed, so only the pair check can see it) is refused as start-up refuses it.
        var other = temp["assistant"];
        DirectoryCopy.Copy(RepositoryModels.UldAssistant, other);
        var tokenizer = Path.Combine(other, ModelDirectory.TokenizerFile);
        File.AppendAllText(tokenizer, " ");
        var manifest = ModelManifest.Load(Path.Combine(other, ModelManifest.FileName));
        var files = manifest.Files.ToDictionary();
        files[ModelDirectory.TokenizerFile] = FileHash.Sha256(tokenizer);
        (manifest with { Files = files }).Save(Path.Combine(other, ModelManifest.FileName));
        (status, error, _) = await AdminApi.PutAsync(server.Http, "tofu-mini-uld",
            new JsonObject { ["Kind"] = "Uld", ["Base"] = RepositoryModels.Target, ["Assistant"] = other, ["AlphaMin"] = 2.0, ["AlphaMax"] = 4.0 });
        Assert.Equal(400, status);
        Assert.Contains("vocabulary", error!["error"]!["message"]!.GetValue<string>());
        // …and so is the same assistant second in a list of them.
        (status, error, _) = await AdminApi.PutAsync(server.Http, "tofu-mini-uld", new JsonObject
        {
            ["Kind"] = "Uld", ["Base"] = RepositoryModels.Target, ["AlphaDefault"] = 2.5, ["AlphaMin"] = 2.0, ["AlphaMax"] = 4.0,
            ["Assistants"] = new JsonArray(new JsonObject { ["Path"] = RepositoryModels.UldAssistant }, new JsonObject { ["Path"] = other }),
        });
        Assert.Equal(400, status);
        Assert.Contains("base and assistant.1 do not share a vocabulary", error!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(1, (await AdminApi.ListAsync(server.Http))["tofu-mini-uld"]["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task Delete_takes_the_name_out_and_it_is_then_an_unknown_model()
    {
        await using var server = await StartAsync();
        var (status, body, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Delete, AdminRoutes.Deployment("tofu-mini-npo-gd"));
        Assert.Equal(204, status);
        Assert.Null(body);

        Assert.DoesNotContain("tofu-mini-npo-gd", await ModelIdsAsync(server));
        Assert.DoesNotContain("tofu-mini-npo-gd", (await AdminApi.ListAsync(server.Http)).Keys);
        var (chat, error, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("tofu-mini-npo-gd", "Hi", 2));
        Assert.Equal(404, chat);
        Assert.Equal("model_not_found", error!["error"]!["code"]!.GetValue<string>());
        (status, error, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Delete, AdminRoutes.Deployment("tofu-mini-npo-gd"));
        Assert.Equal(404, status);
        Assert.Equal("model_not_found", error!["error"]!["code"]!.GetValue<string>());
        (status, _, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Get, AdminRoutes.Deployment("tofu-mini-npo-gd"));
        Assert.Equal(404, status);
        // The others still serve, the target's session still loaded for the ULD deployment over it.
        Assert.NotEmpty(await GreedyAsync(server, "tofu-mini-uld"));
    }

    public static TheoryData<string, string> Spellings => new()
    {
        { "GET", "/admin/deployments" },
        { "GET", "/Admin/Deployments" },
        { "GET", "/ADMIN/DEPLOYMENTS/" },
        { "GET", "/admin/deployments/" },
        { "GET", "/admin//deployments" },
        { "GET", "/admin/./deployments" },
        { "GET", "/v1/../admin/deployments" },
        { "GET", "/%61dmin/deployments" },
        { "GET", "/admin/deployments/tofu-mini-target" },
        { "GET", "/admin/deployments/TOFU-MINI-TARGET" },
        { "PUT", "/admin/deployments/tofu-mini-target" },
        { "PUT", "/Admin/Deployments/tofu-mini-target/" },
        { "PUT", "/admin/deployments/a%2Fb" },
        { "DELETE", "/admin/deployments/tofu-mini-npo-gd" },
        { "DELETE", "/ADMIN/deployments/tofu-mini-npo-gd/" },
        { "POST", "/admin/deployments" },
        { "POST", "/admin/deployments/tofu-mini-target" },
        { "PATCH", "/admin/deployments/tofu-mini-target" },
    };

    /// <summary>No spelling of an admin path does anything without the key, and none with a wrong one.</summary>
    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Without_the_admin_key_no_spelling_of_an_admin_path_succeeds(string method, string path)
    {
        var server = shared.Server;
        var body = method is "PUT" or "POST" or "PATCH" ? Plain(RepositoryModels.UldAssistant).ToJsonString() : null;
        var attempts = new[] { (null, "Bearer"), ("", "Bearer"), ("wrong-key", "Bearer"), (AdminApi.Key + "x", "Bearer"), (AdminApi.Key[..^1], "Bearer"),
            (AdminApi.Key.ToUpperInvariant(), "Bearer"), (AdminApi.Key, "Basic"), (KeyHash.Sha256Hex(AdminApi.Key), "Bearer") };
        foreach (var (key, scheme) in attempts)
        {
            var (status, error, _) = await AdminApi.SendAsync(server.Http, new HttpMethod(method), path, body, key, scheme: scheme);
            Assert.True(status is 401 or 404 or 405, $"{method} {path} with {scheme} '{key}': {status}");
            if (status == 401) Assert.Equal("invalid_api_key", error!["error"]!["code"]!.GetValue<string>());
        }
        // Nothing changed.
        var list = await AdminApi.ListAsync(server.Http);
        Assert.Equal(["tofu-mini-target", "tofu-mini-uld", "tofu-mini-npo-gd"], list.Keys);
        Assert.All(list.Values, d => Assert.Equal(1, d["version"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Other_methods_are_not_admin_calls_even_with_the_key()
    {
        var server = shared.Server;
        foreach (var (method, path) in new[] { ("POST", "/admin/deployments"), ("POST", "/admin/deployments/x"), ("PATCH", "/admin/deployments/tofu-mini-target"), ("DELETE", "/admin/deployments") })
        {
            var (status, _, _) = await AdminApi.SendAsync(server.Http, new HttpMethod(method), path, Plain(RepositoryModels.Target).ToJsonString());
            Assert.True(status is 404 or 405, $"{method} {path}: {status}");
        }
        Assert.Equal(3, (await AdminApi.ListAsync(server.Http)).Count);
    }

    [Fact]
    public async Task Without_an_admin_key_configured_the_admin_paths_do_not_exist()
    {
        await using var server = await LogitServerHost.StartAsync(RepositoryModels.DefaultDeploymentSettings());
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            foreach (var path in new[] { "/admin/deployments", "/admin/deployments/tofu-mini-target" })
            {
                var (status, error, _) = await AdminApi.SendAsync(server.Http, method, path, method == HttpMethod.Put ? Plain(RepositoryModels.Target).ToJsonString() : null);
                Assert.Equal(404, status);
                Assert.Equal("unknown_url", error!["error"]!["code"]!.GetValue<string>());
            }
        }
    }

    [Fact]
    public async Task A_name_with_a_slash_is_addressed_escaped_once()
    {
        await using var server = await StartAsync();
        var (status, body, _) = await AdminApi.PutAsync(server.Http, "org/target", Plain(RepositoryModels.Target));
        Assert.True(status == 201, body?.ToJsonString());
        Assert.Equal("org/target", body!["name"]!.GetValue<string>());
        Assert.Equal(await GreedyAsync(server, "tofu-mini-target"), await GreedyAsync(server, "org/target"));

        // Lower-case escape: the same name, so a replacement.
        (status, body, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Put, "/admin/deployments/org%2ftarget", Plain(RepositoryModels.Target).ToJsonString());
        Assert.Equal(200, status);
        Assert.Equal(("org/target", 2), (body!["name"]!.GetValue<string>(), body["version"]!.GetValue<int>()));
        // Escaped twice, or a '%' of its own: refused, not decoded again.
        foreach (var path in new[] { "/admin/deployments/org%252Ftarget", "/admin/deployments/50%25" })
        {
            (status, body, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Put, path, Plain(RepositoryModels.Target).ToJsonString());
            Assert.Equal(400, status);
            Assert.Equal("invalid_deployment_name", body!["error"]!["code"]!.GetValue<string>());
        }
        (status, _, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Delete, AdminRoutes.Deployment("org/target"));
        Assert.Equal(204, status);
        Assert.DoesNotContain("org/target", await ModelIdsAsync(server));
    }

    [Fact]
    public async Task Concurrent_puts_to_one_name_are_applied_one_after_another()
    {
        await using var server = await StartAsync();
        var alphas = new[] { 2.25, 2.5, 2.75, 3.0 };
        var puts = alphas.Select(alpha => AdminApi.PutAsync(server.Http, "uld-variant", new JsonObject
        {
            ["Kind"] = "Uld", ["Base"] = RepositoryModels.Target, ["Assistant"] = RepositoryModels.UldAssistant, ["Rule"] = "SuppressOnly",
            ["AlphaDefault"] = alpha, ["AlphaMin"] = 2.0, ["AlphaMax"] = 4.0, ["RelativeTopDefault"] = 0.0,
        })).ToArray();
        var results = await Task.WhenAll(puts);

        Assert.Equal([200, 200, 200, 201], results.Select(r => r.Status).Order());
        var versions = results.Select(r => r.Body!["version"]!.GetValue<int>()).ToArray();
        Assert.Equal([1, 2, 3, 4], versions.Order());
        Assert.Equal(1, results.Single(r => r.Status == 201).Body!["version"]!.GetValue<int>());
        // What serves is the last one applied, and the listing and /v1/models agree on it.
        var last = results.Single(r => r.Body!["version"]!.GetValue<int>() == 4).Body!["spec"]!["AlphaDefault"]!.GetValue<double>();
        var listed = (await AdminApi.ListAsync(server.Http))["uld-variant"];
        Assert.Equal((4, last), (listed["version"]!.GetValue<int>(), listed["spec"]!["AlphaDefault"]!.GetValue<double>()));
        var (_, chat, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("uld-variant", "Hi", 2));
        Assert.Equal(last, chat!["uld_alpha"]!.GetValue<double>());
    }

    [Fact]
    public async Task With_the_admin_api_a_replica_may_start_empty_and_be_given_its_deployments()
    {
        await using var server = await LogitServerHost.StartAsync(AdminApi.Enabled([]));
        Assert.Empty(await ModelIdsAsync(server));
        Assert.Empty(await AdminApi.ListAsync(server.Http));
        Assert.Equal(404, (await HttpApi.PostAsync(server.Http, "/v1/chat/completions", HttpApi.Chat("tofu-mini-target", "Hi", 2))).Status);

        Assert.Equal(201, (await AdminApi.PutAsync(server.Http, "tofu-mini-target", Plain(RepositoryModels.Target))).Status);
        Assert.Equal(["tofu-mini-target"], await ModelIdsAsync(server));
        Assert.NotEmpty(await GreedyAsync(server, "tofu-mini-target"));
        // Without the admin API an empty configuration still stops start-up.
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(new Dictionary<string, string?>()));
        Assert.Contains("no deployments are configured", error.Message);
    }

    [Fact]
    public async Task A_restarted_replica_serves_what_the_admin_api_last_set()
    {
        using var temp = new TempDirectory();
        var file = temp["runtime-deployments.json"];
        string npoAnswer;
        await using (var first = await StartAsync(file))
        {
            npoAnswer = await GreedyAsync(first, "tofu-mini-npo-gd");
            Assert.Equal(201, (await AdminApi.PutAsync(first.Http, "npo-copy", Plain(RepositoryModels.NpoGd))).Status);
            var uld = new JsonObject
            {
                ["Kind"] = "Uld", ["Base"] = RepositoryModels.Target, ["Assistant"] = RepositoryModels.UldAssistant, ["Rule"] = "SuppressOnly",
                ["AlphaDefault"] = 3.0, ["AlphaMin"] = 2.0, ["AlphaMax"] = 4.0, ["RelativeTopDefault"] = 0.0,
            };
            Assert.Equal(200, (await AdminApi.PutAsync(first.Http, "tofu-mini-uld", uld)).Status);
            Assert.Equal(204, (await AdminApi.SendAsync(first.Http, HttpMethod.Delete, AdminRoutes.Deployment("tofu-mini-npo-gd"))).Status);
        }
        // Written whole, through a renamed temporary file: nothing else is left in the directory.
        Assert.Equal([file], Directory.GetFiles(temp.Path));
        var recorded = JsonNode.Parse(File.ReadAllText(file))!;
        Assert.Equal(["npo-copy", "tofu-mini-uld"], recorded["Deployments"]!.AsArray().Select(d => d!["Name"]!.GetValue<string>()).Order());
        Assert.Equal(["tofu-mini-npo-gd"], recorded["Removed"]!.AsArray().Select(n => n!.GetValue<string>()));

        await using var second = await StartAsync(file);
        var list = await AdminApi.ListAsync(second.Http);
        Assert.Equal(["tofu-mini-target", "tofu-mini-uld", "npo-copy"], list.Keys);
        Assert.Equal(3.0, list["tofu-mini-uld"]["spec"]!["AlphaDefault"]!.GetValue<double>());
        var (_, chat, _) = await HttpApi.PostAsync(second.Http, "/v1/chat/completions", HttpApi.Chat("tofu-mini-uld", "Hi", 2));
        Assert.Equal(3.0, chat!["uld_alpha"]!.GetValue<double>());
        Assert.Equal(OnnxSha256(RepositoryModels.NpoGd), list["npo-copy"]["model_sha256"]!["model"]!.GetValue<string>());
        Assert.Equal(npoAnswer, await GreedyAsync(second, "npo-copy"));
        Assert.Equal(404, (await HttpApi.PostAsync(second.Http, "/v1/chat/completions", HttpApi.Chat("tofu-mini-npo-gd", "Hi", 2))).Status);

        // Putting a removed configured name back takes it off the removed list.
        Assert.Equal(201, (await AdminApi.PutAsync(second.Http, "tofu-mini-npo-gd", Plain(RepositoryModels.NpoGd))).Status);
        Assert.Equal(204, (await AdminApi.SendAsync(second.Http, HttpMethod.Delete, AdminRoutes.Deployment("npo-copy"))).Status);
        recorded = JsonNode.Parse(File.ReadAllText(file))!;
        Assert.Equal(["tofu-mini-npo-gd", "tofu-mini-uld"], recorded["Deployments"]!.AsArray().Select(d => d!["Name"]!.GetValue<string>()).Order());
        Assert.Empty(recorded["Removed"]!.AsArray());
    }

    [Fact]
    public async Task A_change_the_file_cannot_record_is_not_made()
    {
        using var temp = new TempDirectory();
        var file = temp["in-the-way"];
        Directory.CreateDirectory(file); // a directory where the file should be: renaming over it fails
        await using var server = await StartAsync(file);

        var (status, error, _) = await AdminApi.PutAsync(server.Http, "npo-copy", Plain(RepositoryModels.NpoGd));
        Assert.Equal(500, status);
        Assert.Equal("not_recorded", error!["error"]!["code"]!.GetValue<string>());
        Assert.Contains(file, error["error"]!["message"]!.GetValue<string>());
        (status, _, _) = await AdminApi.SendAsync(server.Http, HttpMethod.Delete, AdminRoutes.Deployment("tofu-mini-npo-gd"));
        Assert.Equal(500, status);

        Assert.Equal(["tofu-mini-target", "tofu-mini-uld", "tofu-mini-npo-gd"], (await AdminApi.ListAsync(server.Http)).Keys);
        Assert.DoesNotContain("npo-copy", await ModelIdsAsync(server));
        Assert.Empty(Directory.GetFiles(temp.Path));
        // The version that was loaded for nothing has released its sessions: target, assistant and NPO+GD remain.
        var registry = server.App.Services.GetRequiredService<DeploymentRegistry>();
        await WaitUntilAsync(() => registry.Sessions.LoadedSessions == 3);
    }

    [Theory]
    [InlineData("{", "RuntimeDeploymentsFile")]
    [InlineData("""{"Deployments": [{"Name": "x", "Kind": "Plain", "Model": "/nonexistent"}]}""", "model directory /nonexistent does not exist")]
    [InlineData("""{"Deployments": [{"Name": "x", "Kind": "Plian", "Model": "/tmp"}]}""", "'Kind'")]
    [InlineData("""{"Deployments": [], "Removed": "tofu-mini-uld"}""", "Removed must be a list of names")]
    [InlineData("""{"Deployment": []}""", "unknown key 'Deployment'")]
    public async Task A_runtime_file_that_cannot_be_served_stops_start_up_naming_it(string content, string message)
    {
        using var temp = new TempDirectory();
        var file = temp["runtime.json"];
        File.WriteAllText(file, content);
        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => StartAsync(file));
        Assert.Contains(file, error.Message);
        Assert.Contains(message, error.Message);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !condition(); await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 30 s");
        }
    }
}
