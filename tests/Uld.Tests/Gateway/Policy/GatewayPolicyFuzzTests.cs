using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.Gateway.Policy;

/// <summary>
/// Attacks on the α policy and the model allow-list, the way a client holding a limited key would try them: every
/// routed endpoint under many path spellings, methods and body encodings. Each attempt must get its specific OpenAI
/// error, and the replicas must never receive a request for a model outside the key's allow-list or below the floor.
/// The key used may call "stories-uld" only, whose replicas list α ≥ 0.5.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class GatewayPolicyFuzzTests(ServerFixture fixture)
{
    private static readonly string Messages = J("'messages':[{'role':'user','content':'Once upon a time'}],'max_tokens':1,'temperature':0");

    /// <summary>Forwarded routes and a body (without "model") each accepts.</summary>
    private static readonly (string Path, string Fields, bool Generates)[] Endpoints =
    [
        ("/v1/chat/completions", Messages, true),
        ("/v1/completions", J("'prompt':'Once upon a time','max_tokens':1,'temperature':0"), true),
        ("/tokenize", J("'prompt':'Once upon a time'"), false),
        ("/detokenize", J("'tokens':[1,2,3]"), false),
    ];

    private static readonly string[] ForwardedPaths = Endpoints.Select(e => e.Path).ToArray();

    /// <summary>Spellings of a path that all mean that path once canonicalised.</summary>
    private static IEnumerable<string> Spellings(string path)
    {
        var last = path.LastIndexOf('/');
        yield return path;
        yield return path.ToUpperInvariant();
        yield return string.Concat(path.Select((c, i) => i % 2 == 0 ? char.ToUpperInvariant(c) : c));
        yield return path + "/";
        yield return path + "//";
        yield return "/" + path.Replace("/", "//", StringComparison.Ordinal);
        yield return path.Replace("/", "/./", StringComparison.Ordinal);
        yield return "/x/.." + path;
        yield return "/v1/x/../.." + path;
        yield return path + "?model=stories&uld_alpha=0";
        yield return path[..(last + 1)] + $"%{(int)path[last + 1]:X2}" + path[(last + 2)..]; // "/v1/chat/%63ompletions"
        yield return path[..(last + 1)] + $"%{(int)path[last + 1]:x2}" + path[(last + 2)..].ToUpperInvariant();
        if (last > 0) yield return path[..last] + "%2F" + path[(last + 1)..]; // "/v1/chat%2Fcompletions"
        yield return path + "%2f";
        yield return "/metrics/.." + path;
    }

    /// <summary>Spellings that name no route: 404, never forwarded.</summary>
    private static IEnumerable<(string Target, int Status, string? Code)> NotRouted(string path)
    {
        var last = path.LastIndexOf('/');
        yield return (path + "/x", 404, "unknown_url");
        yield return (path[..^1], 404, "unknown_url");
        yield return (path[..(last + 1)] + "%25" + $"{(int)path[last + 1]:X2}" + path[(last + 2)..], 404, "unknown_url"); // double-encoded
        yield return (path.Replace('/', '\\'), 404, "unknown_url");
        yield return ("/v2" + path, 404, "unknown_url");
        // Kestrel itself refuses a NUL in the request target (400, before any middleware runs).
        yield return (path + "%00", 400, null);
    }

    private static string Body(string model, string fields, string extra = "") =>
        "{\"model\":\"" + model + "\"," + fields + (extra.Length > 0 ? "," + extra : "") + "}";

    /// <summary>Sends attempts with one API key and records every answer that differs from the expected one.</summary>
    private sealed class Attempts(GatewayStack stack, string key, HttpClient http)
    {
        public int Count { get; private set; }
        /// <summary>Requests the replicas should have received: one per admitted attempt (compare: one per fan-out).</summary>
        public int Served { get; private set; }
        public List<string> Failures { get; } = [];

        public async Task Expect(string method, string target, string? body, int status, string? code,
            string contentType = "application/json", string? contentEncoding = null, int replicaRequests = 1)
        {
            Count++;
            var uri = new Uri(stack.Address + target.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
            using var request = new HttpRequestMessage(new HttpMethod(method), uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
                if (contentType.Length > 0) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
                if (contentEncoding is not null) request.Content.Headers.ContentEncoding.Add(contentEncoding);
                request.Headers.ExpectContinue = true; // an oversized body is refused before it is sent
            }
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var actualCode = (int)response.StatusCode >= 400 && text.Length > 0 ? JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>() : null;
            if ((int)response.StatusCode != status || (method != "HEAD" && actualCode != code))
                Failures.Add($"{method} {target} {Shorten(body)} [{contentType}]: expected {status} {code}, got {(int)response.StatusCode} {actualCode} {Shorten(text)}");
            if (status == 200) Served += replicaRequests;
        }

        public void AssertNoFailures() =>
            Assert.True(Failures.Count == 0, $"{Failures.Count} of {Count} attempts got the wrong answer:\n" + string.Join("\n", Failures));
    }

    [Fact]
    public async Task No_path_method_or_body_variant_reaches_a_replica_unchecked()
    {
        var stack = await fixture.SharedGatewayAsync();
        foreach (var recorder in stack.Recorders) recorder.Clear();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        var attempts = new Attempts(stack, GatewayStack.UldOnlyKey, http);

        foreach (var (path, fields, generates) in Endpoints)
        {
            foreach (var target in Spellings(path))
            {
                await attempts.Expect("POST", target, Body("stories", fields), 403, "model_not_allowed");
                await attempts.Expect("POST", target, Body("stories-uld", fields, J("'uld_alpha':0.2")), 403, "alpha_below_floor");
                await attempts.Expect("POST", target, Body("stories-uld", fields, generates ? J("'uld_alpha':1.0") : ""), 200, null);
            }
            foreach (var (target, status, code) in NotRouted(path)) await attempts.Expect("POST", target, Body("stories", fields), status, code);
            foreach (var method in new[] { "GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" })
            {
                await attempts.Expect(method, path, method is "GET" or "HEAD" ? null : Body("stories", fields), 405, "method_not_allowed");
                await attempts.Expect(method, path.ToUpperInvariant() + "/", method is "GET" or "HEAD" ? null : Body("stories-uld", fields, J("'uld_alpha':0")), 405, "method_not_allowed");
            }
        }

        foreach (var (path, fields, generates) in Endpoints.Where(e => e.Generates))
        {
            foreach (var (extra, status, code) in AlphaAndKeyVariants)
                await attempts.Expect("POST", path, Body("stories-uld", fields, extra), status, code);
            foreach (var (body, contentType, status, code) in EnvelopeVariants(fields))
                await attempts.Expect("POST", path, body, status, code, contentType);
            await attempts.Expect("POST", path, Body("stories-uld", fields, J("'uld_alpha':0.1")), 415, "unsupported_media_type", contentEncoding: "gzip");
        }

        // Compare: every fan-out passes the same policy, under every spelling of its path.
        var compare = J("'models':['stories-uld'],") + Messages;
        foreach (var target in Spellings("/v1/compare"))
        {
            await attempts.Expect("POST", target, "{" + compare + J(",'uld_alpha':0.2}"), 403, "alpha_below_floor");
            await attempts.Expect("POST", target, J("{'models':['stories-uld','stories'],") + Messages + "}", 403, "model_not_allowed");
            await attempts.Expect("POST", target, J("{'models':['stories-uld','stories-ab'],") + Messages + "}", 403, "model_not_allowed");
            await attempts.Expect("POST", target, "{" + compare + J(",'uld_alpha':1.5}"), 200, null);
        }
        foreach (var (extra, status, code) in AlphaAndKeyVariants.Where(v => !v.Extra.Contains("\"model\"", StringComparison.OrdinalIgnoreCase)))
            await attempts.Expect("POST", "/v1/compare", "{" + compare + "," + extra + "}", status, code);
        await attempts.Expect("POST", "/v1/compare", J("{'models':['stories-uld'],'models':['stories'],") + Messages + "}", 400, "duplicate_key");
        await attempts.Expect("POST", "/v1/compare", J("{'model':'stories',") + compare + "}", 400, "unknown_parameter");
        await attempts.Expect("POST", "/v1/compare", J("{'models':['stories-uld','stories-uld'],") + Messages + "}", 200, null, replicaRequests: 2);
        foreach (var method in new[] { "GET", "PUT", "DELETE", "HEAD" })
            await attempts.Expect(method, "/v1/Compare/", method is "GET" or "HEAD" ? null : "{" + compare + J(",'uld_alpha':0}"), 405, "method_not_allowed");

        attempts.AssertNoFailures();

        // What reached the replicas: only admitted requests, on canonical paths, without the key, each at or above the floor.
        var received = stack.ReceivedByReplicas;
        Assert.Equal(attempts.Served, received.Count);
        Assert.All(received, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Contains(r.Path, ForwardedPaths);
            Assert.Equal("", r.Query);
            Assert.False(r.HasAuthorization);
            using var document = JsonDocument.Parse(r.Body);
            var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            Assert.Equal("stories-uld", document.RootElement.GetProperty("model").GetString());
            if (r.Path is "/v1/chat/completions" or "/v1/completions")
                Assert.True(document.RootElement.GetProperty("uld_alpha").GetDouble() >= GatewayStack.UldFloor, r.Body);
        });
    }

    /// <summary>Extra top-level fields on a body for "stories-uld", and the answer each must get.</summary>
    private static readonly (string Extra, int Status, string? Code)[] AlphaAndKeyVariants =
    [
        (J("'uld_alpha':1.0,'uld_alpha':0.1"), 400, "duplicate_key"),
        (J("'uld_alpha':0.1,'uld_alpha':1.0"), 400, "duplicate_key"),
        (J("'model':'stories'"), 400, "duplicate_key"),
        (J("'Model':'stories'"), 400, "duplicate_key"),
        (J("'ULD_ALPHA':0.1"), 400, "unknown_parameter"),
        (J("'Uld_Alpha':0.1,'uld_alpha':1"), 400, "duplicate_key"),
        (J("'uld\\u005falpha':0.1"), 403, "alpha_below_floor"),
        (J("'uld_alpha':'0.1'"), 400, "invalid_type"),
        (J("'uld_alpha':'1.0'"), 400, "invalid_type"),
        (J("'uld_alpha':'NaN'"), 400, "invalid_type"),
        (J("'uld_alpha':'Infinity'"), 400, "invalid_type"),
        (J("'uld_alpha':{'value':0.1}"), 400, "invalid_type"),
        (J("'uld_alpha':[0.1]"), 400, "invalid_type"),
        (J("'uld_alpha':true"), 400, "invalid_type"),
        (J("'uld_alpha':NaN"), 400, "invalid_json"),
        (J("'uld_alpha':Infinity"), 400, "invalid_json"),
        (J("'uld_alpha':-Infinity"), 400, "invalid_json"),
        (J("'uld_alpha':1e400"), 400, "invalid_number"),
        (J("'uld_alpha':-1e400"), 400, "invalid_number"),
        (J("'uld_alpha':1e-400"), 403, "alpha_below_floor"),
        (J("'uld_alpha':-0"), 403, "alpha_below_floor"),
        (J("'uld_alpha':-0.0e5"), 403, "alpha_below_floor"),
        (J("'uld_alpha':4.9e-1"), 403, "alpha_below_floor"),
        (J("'uld_alpha':0.49999999999999999999999"), 200, null), // rounds to 0.5, the floor itself
        ("\"uld_alpha\":0." + new string('0', 5000) + "1", 403, "alpha_below_floor"),
        (J("'uld_alpha':-1"), 400, "alpha_out_of_range"), // negative: out of range for every key, not a permission question
        (J("'uld_alpha':-100"), 400, "alpha_out_of_range"),
        (J("'uld_alpha':-1e-300"), 400, "alpha_out_of_range"),
        (J("'uld_alpha':3"), 400, "alpha_out_of_range"),
        (J("'uld_alpha':null"), 200, null), // the deployment default, written into the forwarded body
        (J("'uld_relative_top':'0'"), 400, "invalid_type"),
        (J("'uld_relative_top':2"), 400, "relative_top_out_of_range"),
        (J("'metadata':{'uld_alpha':0.1}"), 400, "unknown_parameter"), // only the top-level field is α; a uld_* field anywhere else is refused
        (J("'user':{'uld_alpha':0.1}"), 400, "invalid_type"),
        (J("'uld_offset_beta':1.0"), 400, "uld_not_supported"), // β belongs to offset deployments
    ];

    [Fact]
    public async Task No_beta_variant_reaches_an_offset_replica_unchecked()
    {
        var stack = await fixture.SharedGatewayAsync();
        foreach (var recorder in stack.Recorders) recorder.Clear();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        var attempts = new Attempts(stack, GatewayStack.OffsetOnlyKey, http);

        foreach (var (path, fields, generates) in Endpoints)
        {
            foreach (var target in Spellings(path))
            {
                await attempts.Expect("POST", target, Body("stories-uld", fields), 403, "model_not_allowed");
                await attempts.Expect("POST", target, Body("stories-offset", fields, J("'uld_offset_beta':0.2")), 403, "beta_below_floor");
                await attempts.Expect("POST", target, Body("stories-offset", fields, generates ? J("'uld_offset_beta':1.0") : ""), 200, null);
            }
        }
        foreach (var (path, fields, _) in Endpoints.Where(e => e.Generates))
        {
            foreach (var (extra, status, code) in BetaVariants)
                await attempts.Expect("POST", path, Body("stories-offset", fields, extra), status, code);
            await attempts.Expect("POST", path, Body("stories-offset", fields, J("'uld_offset_beta':0.1")), 415, "unsupported_media_type", contentType: "text/plain");
        }
        var compare = J("'models':['stories-offset'],") + Messages;
        foreach (var (extra, status, code) in BetaVariants)
            await attempts.Expect("POST", "/v1/compare", "{" + compare + "," + extra + "}", status, code);
        await attempts.Expect("POST", "/v1/compare", J("{'models':['stories-offset','stories-uld'],") + Messages + "}", 403, "model_not_allowed");
        attempts.AssertNoFailures();

        var received = stack.ReceivedByReplicas;
        Assert.Equal(attempts.Served, received.Count);
        Assert.All(received, r =>
        {
            using var document = JsonDocument.Parse(r.Body);
            Assert.Equal("stories-offset", document.RootElement.GetProperty("model").GetString());
            Assert.False(document.RootElement.TryGetProperty("uld_alpha", out _), r.Body);
            if (r.Path is "/v1/chat/completions" or "/v1/completions")
                Assert.True(document.RootElement.GetProperty("uld_offset_beta").GetDouble() >= GatewayStack.OffsetFloor, r.Body);
        });
    }

    /// <summary>Extra top-level fields on a body for "stories-offset" (β floor 0.5, ceiling 2), and the answer each must get.</summary>
    private static readonly (string Extra, int Status, string? Code)[] BetaVariants =
    [
        (J("'uld_offset_beta':1.0,'uld_offset_beta':0.1"), 400, "duplicate_key"),
        (J("'uld_offset_beta':0.1,'uld_offset_beta':1.0"), 400, "duplicate_key"),
        (J("'ULD_OFFSET_BETA':0.1"), 400, "unknown_parameter"),
        (J("'Uld_Offset_Beta':0.1,'uld_offset_beta':1"), 400, "duplicate_key"),
        (J("'uld\\u005foffset_beta':0.1"), 403, "beta_below_floor"),
        (J("'uld_offset_beta':'0.1'"), 400, "invalid_type"),
        (J("'uld_offset_beta':'1.0'"), 400, "invalid_type"),
        (J("'uld_offset_beta':{'value':0.1}"), 400, "invalid_type"),
        (J("'uld_offset_beta':[0.1]"), 400, "invalid_type"),
        (J("'uld_offset_beta':true"), 400, "invalid_type"),
        (J("'uld_offset_beta':NaN"), 400, "invalid_json"),
        (J("'uld_offset_beta':1e400"), 400, "invalid_number"),
        (J("'uld_offset_beta':1e-400"), 403, "beta_below_floor"),
        (J("'uld_offset_beta':-0"), 403, "beta_below_floor"),
        (J("'uld_offset_beta':4.9e-1"), 403, "beta_below_floor"),
        (J("'uld_offset_beta':0.49999999999999999999999"), 200, null), // rounds to 0.5, the floor itself
        ("\"uld_offset_beta\":0." + new string('0', 5000) + "1", 403, "beta_below_floor"),
        (J("'uld_offset_beta':-1"), 400, "beta_out_of_range"), // negative: out of range for every key
        (J("'uld_offset_beta':3"), 400, "beta_out_of_range"),
        (J("'uld_offset_beta':null"), 200, null), // the deployment default, written into the forwarded body
        (J("'uld_alpha':1.0"), 400, "uld_not_supported"), // α and r belong to ULD deployments
        (J("'uld_relative_top':0.5"), 400, "uld_not_supported"),
        (J("'metadata':{'uld_offset_beta':0.1}"), 400, "unknown_parameter"),
    ];

    /// <summary>Whole bodies and media types, and the answer each must get.</summary>
    private static IEnumerable<(string Body, string ContentType, int Status, string? Code)> EnvelopeVariants(string fields)
    {
        var attack = Body("stories-uld", fields, J("'uld_alpha':0.1"));
        yield return (attack, "text/plain", 415, "unsupported_media_type");
        yield return (attack, "application/x-www-form-urlencoded", 415, "unsupported_media_type");
        yield return (attack, "", 415, "unsupported_media_type");
        yield return (attack, "application/json; charset=utf-16", 415, "unsupported_media_type");
        yield return (attack, "application/json; charset=utf-8", 403, "alpha_below_floor");
        yield return (attack + J(" {'model':'stories'}"), "application/json", 400, "invalid_json");
        yield return ("[" + attack + "]", "application/json", 400, "invalid_json");
        yield return ("model=stories&uld_alpha=0", "application/json", 400, "invalid_json");
        yield return ("", "application/json", 400, "invalid_json");
        yield return ("\"stories\"", "application/json", 400, "invalid_json");
        yield return (Body(new string('s', 50_000), fields), "application/json", 403, "model_not_allowed");
        yield return (Body("STORIES-ULD", fields), "application/json", 403, "model_not_allowed");
        yield return (Body("stories-uld ", fields), "application/json", 403, "model_not_allowed");
        yield return (Body("stories-ab", fields), "application/json", 403, "model_not_allowed");
        yield return (J("{'model':['stories-uld'],") + fields + "}", "application/json", 400, "invalid_type");
        yield return ("{" + fields + "}", "application/json", 400, "missing_required_parameter");
        yield return (Body("stories-uld", fields, "\"pad\":\"" + new string('x', 70_000) + "\""), "application/json", 413, "request_too_large");
    }

    /// <summary>JSON written with single quotes, for readable test data.</summary>
    private static string J(string json) => json.Replace('\'', '"');

    private static string Shorten(string? text) => text is null ? "" : text.Length > 160 ? text[..160] + "…" : text;
}
