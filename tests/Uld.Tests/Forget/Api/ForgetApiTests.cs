using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Contracts.Models;
using Uld.Tests.Support;

namespace Uld.Tests.Forget.Api;

/// <summary>
/// The forget-request API as a client — and an attacker — meets it: submission and its validation (body shapes, data
/// formats with the failing line, paths outside the allowed roots, oversize bodies), authentication on every path
/// spelling and method, lookups, and the audit record. The worker is off: nothing here trains.
/// </summary>
public sealed class ForgetApiTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private ForgetServiceHost _service = null!;
    private HttpClient _http = null!;

    private string AllowedRoot => _temp["allowed"];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(AllowedRoot);
        var settings = ForgetServiceHost.Settings(_temp.Path);
        settings["Forget:RunWorker"] = "false";
        settings["Forget:Replicas:0"] = "http://127.0.0.1:9";
        settings["Forget:AllowedDataRoots:0"] = AllowedRoot;
        settings["Forget:MaxRequestBodyBytes"] = "65536";
        _service = await ForgetServiceHost.StartAsync(settings);
        _http = _service.Client();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _service.DisposeAsync();
        _temp.Dispose();
    }

    private static JsonObject Body(JsonNode forget, string deployment = ForgetServiceHost.Deployment) => new()
    {
        ["deployment"] = deployment,
        ["forget"] = forget,
        ["submitted_by"] = "dpo@example.org",
    };

    private static JsonArray Records(int author, int count) => new([.. TofuRequestData.Records(author, count).Select(r => System.Text.Json.JsonSerializer.SerializeToNode(r))]);

    private async Task<int> CountAsync() => (await (await _http.GetAsync(ForgetRoutes.Requests)).Content.ReadAsStringAsync()) is var text
        ? JsonNode.Parse(text)!["data"]!.AsArray().Count : 0;

    private static void AssertError(int expectedStatus, (int Status, JsonNode? Body, HttpResponseMessage _) response, string? param = null, string? code = null, string? message = null)
    {
        Assert.True(expectedStatus == response.Status && response.Body?["error"] is not null,
            $"{response._.RequestMessage?.RequestUri}: expected {expectedStatus} with an error body, got {response.Status} {response.Body?.ToJsonString()}");
        var error = response.Body!["error"]!;
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.NotNull(error["type"]);
        if (param is not null) Assert.Equal(param, error["param"]?.GetValue<string>());
        if (code is not null) Assert.Equal(code, error["code"]?.GetValue<string>());
        if (message is not null) Assert.Contains(message, error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_valid_request_is_accepted_queued_saved_with_its_hash_and_reported()
    {
        var response = await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(Records(TofuRequestData.RequestAuthor, 3)));
        Assert.Equal(202, response.Status);
        var view = response.Body!;
        var id = view["id"]!.GetValue<string>();
        Assert.Matches("^fr-[0-9a-f]{16}$", id);
        Assert.Equal(ForgetRoutes.Request(id), response.Response.Headers.Location!.ToString());
        Assert.Equal(("forget_request", "queued", "uld", "dpo@example.org"), (view["object"]!.GetValue<string>(), view["state"]!.GetValue<string>(),
            view["method"]!.GetValue<string>(), view["submitted_by"]!.GetValue<string>()));
        Assert.Equal(("inline", "question/answer", 3), (view["forget"]!["source"]!.GetValue<string>(), view["forget"]!["kind"]!.GetValue<string>(), view["forget"]!["records"]!.GetValue<int>()));
        var saved = Path.Combine(_service.DataDirectory, "requests", id, "forget.jsonl");
        Assert.Equal(FileHash.Sha256(saved), view["forget"]!["sha256"]!.GetValue<string>());
        Assert.Equal(3, File.ReadAllLines(saved).Length);
        Assert.Equal(["queued"], view["transitions"]!.AsArray().Select(t => t!["state"]!.GetValue<string>()));

        var fetched = JsonNode.Parse(await _http.GetStringAsync(ForgetRoutes.Request(id)))!;
        Assert.Equal(id, fetched["id"]!.GetValue<string>());
        var list = JsonNode.Parse(await _http.GetStringAsync(ForgetRoutes.Requests))!;
        Assert.Equal("list", list["object"]!.GetValue<string>());
        Assert.Contains(list["data"]!.AsArray(), r => r!["id"]!.GetValue<string>() == id);

        // The audit record exists from submission on, as JSON and Markdown, on disk and through the API.
        var report = JsonNode.Parse(await _http.GetStringAsync(ForgetRoutes.Report(id)))!;
        Assert.Equal(id, report["request"]!["id"]!.GetValue<string>());
        Assert.Equal(view["forget"]!["sha256"]!.GetValue<string>(), report["request"]!["forget"]!["sha256"]!.GetValue<string>());
        Assert.Equal("uld", report["configuration"]!["method"]!.GetValue<string>());
        Assert.Equal(FileHash.Sha256(Path.Combine(_temp.Path, "config", "holdout.jsonl")), report["configuration"]!["holdout_file"]!["sha256"]!.GetValue<string>());
        using var markdown = await _http.GetAsync(ForgetRoutes.ReportMarkdown(id));
        Assert.Equal("text/markdown", markdown.Content.Headers.ContentType!.MediaType);
        var text = await markdown.Content.ReadAsStringAsync();
        Assert.Contains($"# Forget request {id}", text);
        Assert.Contains(view["forget"]!["sha256"]!.GetValue<string>(), text);
        Assert.True(File.Exists(Path.Combine(_service.DataDirectory, "requests", id, "audit.md")));
    }

    [Fact]
    public async Task Json_lines_text_and_an_allowed_path_are_accepted_as_well()
    {
        var lines = string.Join('\n', Records(TofuRequestData.RequestAuthor, 2).Select(r => r!.ToJsonString()));
        var inline = await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(JsonValue.Create(lines + "\n")));
        Assert.Equal(202, inline.Status);
        Assert.Equal(2, inline.Body!["forget"]!["records"]!.GetValue<int>());

        var file = Path.Combine(AllowedRoot, "sub", "forget.jsonl");
        TofuRequestData.Write(file, [TofuRequestData.RequestAuthor], perAuthor: 4);
        var body = Body(new JsonObject { ["path"] = file });
        body["retain"] = Records(0, 2);
        var byPath = await HttpApi.PostAsync(_http, ForgetRoutes.Requests, body);
        Assert.Equal(202, byPath.Status);
        Assert.Equal((file, 4), (byPath.Body!["forget"]!["source"]!.GetValue<string>(), byPath.Body["forget"]!["records"]!.GetValue<int>()));
        // A file is saved byte for byte: its hash is the original's.
        Assert.Equal(FileHash.Sha256(file), byPath.Body["forget"]!["sha256"]!.GetValue<string>());
        Assert.Equal(2, byPath.Body["retain"]!["records"]!.GetValue<int>());
    }

    [Fact]
    public async Task Malformed_data_is_a_400_naming_the_field_and_the_line_and_nothing_is_stored()
    {
        var before = await CountAsync();
        var missingAnswer = Records(TofuRequestData.RequestAuthor, 3);
        missingAnswer[1]!.AsObject().Remove("answer");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(missingAnswer)), "forget", "invalid_record", "forget:2: \"answer\" is missing");

        var mixed = Records(TofuRequestData.RequestAuthor, 2);
        mixed.Add(new JsonObject { ["text"] = "A passage." });
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(mixed)), "forget", "invalid_record", "forget:3:");

        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(JsonValue.Create("{\"text\": \"fine\"}\n{\"text\": \n"))), "forget", "invalid_record", "forget:2: not JSON");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonArray())), "forget", "empty_data");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonArray(1, 2))), "forget", "invalid_record", "forget:1");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(JsonValue.Create(42))), "forget", "invalid_data");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonObject { ["path"] = "/etc/passwd", ["extra"] = 1 })), "forget", "invalid_data");
        var chatWithoutAssistant = new JsonArray(new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }) });
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(chatWithoutAssistant)), "forget", "invalid_record", "forget:1: no assistant turn");
        var badRetain = Body(Records(TofuRequestData.RequestAuthor, 2));
        badRetain["retain"] = new JsonArray(new JsonObject { ["prompt"] = "p" });
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, badRetain), "retain", "invalid_record", "retain:1: \"completion\" is missing");
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task Body_shapes_an_attacker_might_send_are_refused_in_the_openai_error_shape()
    {
        var before = await CountAsync();
        AssertError(400, await HttpApi.PostRawAsync(_http, ForgetRoutes.Requests, "{not json"), code: "invalid_json");
        AssertError(400, await HttpApi.PostRawAsync(_http, ForgetRoutes.Requests, "[]"), code: "invalid_json");
        AssertError(400, await HttpApi.PostRawAsync(_http, ForgetRoutes.Requests, "{\"deployment\": \"a\", \"Deployment\": \"b\"}"), code: "duplicate_key");
        var unknown = Body(Records(TofuRequestData.RequestAuthor, 1));
        unknown["alpha"] = 0;
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, unknown), "alpha", "unknown_field");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(Records(TofuRequestData.RequestAuthor, 1), "tofu-mini-npo-gd")), "deployment", "deployment_not_found");
        var noDeployment = Body(Records(TofuRequestData.RequestAuthor, 1));
        noDeployment.Remove("deployment");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, noDeployment), "deployment", "missing_field");
        var numberDeployment = Body(Records(TofuRequestData.RequestAuthor, 1));
        numberDeployment["deployment"] = 7;
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, numberDeployment), "deployment", "invalid_type");
        var npo = Body(Records(TofuRequestData.RequestAuthor, 1));
        npo["method"] = "npo";
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, npo), "method", "unsupported_method");
        var anonymous = Body(Records(TofuRequestData.RequestAuthor, 1));
        anonymous.Remove("submitted_by");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, anonymous), "submitted_by", "missing_field");
        var longName = Body(Records(TofuRequestData.RequestAuthor, 1));
        longName["submitted_by"] = new string('x', 300);
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, longName), "submitted_by");
        var noForget = Body(Records(TofuRequestData.RequestAuthor, 1));
        noForget.Remove("forget");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, noForget), "forget", "missing_field");

        using var textPlain = await _http.PostAsync(ForgetRoutes.Requests, new StringContent(Body(Records(TofuRequestData.RequestAuthor, 1)).ToJsonString(), Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, textPlain.StatusCode);

        // Larger than MaxRequestBodyBytes (64 KiB here): 413, whether the length is declared or the body is chunked.
        // Sent over a raw socket, written whole before the answer is read: the server may answer before reading it all.
        var huge = Encoding.UTF8.GetBytes(Body(JsonValue.Create(string.Join('\n', Enumerable.Repeat("{\"text\": \"" + new string('a', 1000) + "\"}", 100)))).ToJsonString());
        foreach (var chunked in new[] { false, true })
        {
            var answer = await RawPostAsync(huge, chunked);
            Assert.True(answer.StartsWith("HTTP/1.1 413", StringComparison.Ordinal) && answer.Contains("request_too_large", StringComparison.Ordinal), answer);
        }
        Assert.Equal(before, await CountAsync());
    }

    private async Task<string> RawPostAsync(byte[] body, bool chunked)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_service.Address.Host, _service.Address.Port);
        await using var stream = tcp.GetStream();
        var head = $"POST {ForgetRoutes.Requests} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ForgetServiceHost.AdminKey}\r\nContent-Type: application/json\r\n" +
                   (chunked ? $"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body.Length:x}\r\n" : $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(head));
        bytes.AddRange(body);
        if (chunked) bytes.AddRange(Encoding.ASCII.GetBytes("\r\n0\r\n\r\n"));
        await stream.WriteAsync(bytes.ToArray());
        return await new StreamReader(stream).ReadToEndAsync();
    }

    [Fact]
    public async Task Paths_outside_the_allowed_roots_are_refused_however_they_are_spelt()
    {
        var outside = TofuRequestData.Write(_temp["outside/forget.jsonl"], [TofuRequestData.RequestAuthor], perAuthor: 2);
        File.CreateSymbolicLink(Path.Combine(AllowedRoot, "link.jsonl"), outside);
        Directory.CreateSymbolicLink(Path.Combine(AllowedRoot, "dirlink"), _temp["outside"]);
        Directory.CreateDirectory(AllowedRoot + "-sibling");
        var sibling = TofuRequestData.Write(AllowedRoot + "-sibling/forget.jsonl", [TofuRequestData.RequestAuthor], perAuthor: 2);
        foreach (var path in new[]
                 {
                     outside, "/etc/passwd", Path.Combine(AllowedRoot, "..", "outside", "forget.jsonl"), Path.Combine(AllowedRoot, "link.jsonl"),
                     Path.Combine(AllowedRoot, "dirlink", "forget.jsonl"), sibling,
                 })
        {
            AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonObject { ["path"] = path })), "forget", "path_not_allowed");
        }
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonObject { ["path"] = "allowed/forget.jsonl" })), "forget", "invalid_path");
        Directory.CreateDirectory(Path.Combine(AllowedRoot, "adir"));
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonObject { ["path"] = Path.Combine(AllowedRoot, "adir") })), "forget", "file_not_found");
        AssertError(400, await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonObject { ["path"] = Path.Combine(AllowedRoot, "missing.jsonl") })), "forget", "path_not_allowed");
        // A link inside the root to a file inside the root is fine: what counts is where the data really is.
        var inside = TofuRequestData.Write(Path.Combine(AllowedRoot, "real.jsonl"), [TofuRequestData.RequestAuthor], perAuthor: 2);
        File.CreateSymbolicLink(Path.Combine(AllowedRoot, "alias.jsonl"), inside);
        var aliased = await HttpApi.PostAsync(_http, ForgetRoutes.Requests, Body(new JsonObject { ["path"] = Path.Combine(AllowedRoot, "alias.jsonl") }));
        Assert.Equal(202, aliased.Status);
        Assert.Equal(inside, aliased.Body!["forget"]!["source"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("GET", "/v1/forget-requests")]
    [InlineData("POST", "/v1/forget-requests")]
    [InlineData("GET", "/V1/FORGET-REQUESTS")]
    [InlineData("GET", "/v1/forget-requests/")]
    [InlineData("GET", "/v1//forget-requests")]
    [InlineData("GET", "/v1/forget%2Drequests")]
    [InlineData("GET", "/v1/forget-requests/fr-0000000000000000/report")]
    [InlineData("DELETE", "/v1/forget-requests")]
    [InlineData("GET", "/admin/deployments")]
    [InlineData("GET", "/nothing-here")]
    [InlineData("POST", "/health")]
    public async Task Every_path_but_health_needs_an_admin_key(string method, string path)
    {
        using var anonymous = _service.Client(key: null);
        foreach (var header in new string?[] { null, "Bearer sk-wrong", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(ForgetServiceHost.AdminKey)),
                     "Bearer " + ForgetServiceHost.AdminKey.ToUpperInvariant(), "Bearer", ForgetServiceHost.AdminKey })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (header is not null) request.Headers.TryAddWithoutValidation("Authorization", header);
            if (method == "POST") request.Content = new StringContent(Body(Records(TofuRequestData.RequestAuthor, 1)).ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await anonymous.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with '{header}': {(int)response.StatusCode}");
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());
        }
        using var health = await anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    /// <summary>
    /// Spellings an HTTP client would tidy up before sending (encoded dots, dot segments), sent byte for byte: whatever
    /// path the server makes of them, it is authenticated as that path.
    /// </summary>
    [Theory]
    [InlineData("/v1/forget-requests/%2e%2e/forget-requests")]
    [InlineData("/health/../v1/forget-requests")]
    [InlineData("/health/%2e%2e/v1/forget-requests")]
    [InlineData("/v1/forget-requests/%2e%2e/%2e%2e/admin")]
    [InlineData("//v1/forget-requests")]
    public async Task Raw_path_spellings_are_authenticated_as_the_path_the_server_resolves(string rawPath)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_service.Address.Host, _service.Address.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        var response = await new StreamReader(stream).ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 401", response);
        Assert.Contains("invalid_api_key", response);
    }

    [Fact]
    public async Task With_a_key_unknown_paths_methods_and_ids_are_openai_shaped_404_and_405()
    {
        async Task<(int, JsonNode?, HttpResponseMessage)> Send(string method, string path)
        {
            var response = await _http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            var text = await response.Content.ReadAsStringAsync();
            return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
        }
        AssertError(404, await Send("GET", "/v1/forget-requests/fr-0000000000000000"), "id", "request_not_found");
        AssertError(404, await Send("GET", "/v1/forget-requests/..%2F..%2Fforget.db"), "id", "request_not_found");
        AssertError(404, await Send("GET", "/v1/forget-requests/fr-0000000000000000/report.md"), "id", "request_not_found");
        AssertError(404, await Send("GET", "/v1/forget-requests/%2e%2e/report"), code: "unknown_url"); // the client sends /v1/report
        AssertError(404, await Send("GET", "/v1/anything"), code: "unknown_url");
        AssertError(405, await Send("DELETE", "/v1/forget-requests"), code: "method_not_allowed");
        AssertError(405, await Send("PUT", "/v1/forget-requests/fr-0000000000000000"), code: "method_not_allowed");
        AssertError(405, await Send("PATCH", "/V1/Forget-Requests/"), code: "method_not_allowed");
        // Routing ignores case and a trailing slash: the same list either way.
        var (status, body, _) = await Send("GET", "/V1/Forget-Requests/");
        Assert.Equal(200, status);
        Assert.Equal("list", body!["object"]!.GetValue<string>());
    }
}
