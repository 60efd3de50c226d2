using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.Gateway.Routing;

/// <summary>
/// The sampling controls and the refused fields are the replicas' business: the gateway forwards them unchanged, so
/// an answer through it is the replica's own, honoured or refused (docs/DESIGN.md, *Request fields*).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class GatewayRequestFieldsTests(ServerFixture fixture)
{
    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    public async Task Sampling_controls_pass_through_and_give_the_replicas_answer(string path)
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var chat = path == "/v1/chat/completions";
        var body = chat
            ? HttpApi.Chat("stories-uld", "Once upon a time", 16, temperature: 1)
            : new JsonObject { ["model"] = "stories-uld", ["prompt"] = "Once upon a time", ["max_tokens"] = 16, ["temperature"] = 1 };
        const string sampling = """
            "seed":7,"n":2,"frequency_penalty":1.5,"presence_penalty":2,"logit_bias":{"5":100,"6":-100},"top_k":20,"min_p":0.05,
            "repetition_penalty":1.3,"uld_alpha":1.0,"uld_relative_top":0.1
            """;
        // Chat's neutral fields, as SDKs send them.
        var fields = JsonNode.Parse("{" + sampling + (chat ? ""","store":false,"metadata":{"k":"v"},"service_tier":"auto"}""" : "}"))!.AsObject();
        foreach (var (key, value) in fields) body[key] = value?.DeepClone();

        var viaGateway = await HttpApi.PostAsync(client, path, body);
        var direct = await HttpApi.PostAsync(fixture.Server.Http, path, body);
        Assert.True(viaGateway.Status == 200, viaGateway.Body?.ToJsonString());
        Assert.Equal(direct.Body!["choices"]!.ToJsonString(), viaGateway.Body!["choices"]!.ToJsonString());
    }

    [Fact]
    public async Task Structured_output_passes_through_and_gives_the_replicas_answer()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var (name, schema) = StructuredOutputSchemas.All[1];
        var body = HttpApi.Chat("stories-uld", "Once upon a time", 200, temperature: 1);
        body["seed"] = 11;
        body["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = name, ["schema"] = JsonNode.Parse(schema) } };
        var viaGateway = await HttpApi.PostAsync(client, "/v1/chat/completions", body);
        var direct = await HttpApi.PostAsync(fixture.Server.Http, "/v1/chat/completions", body);
        Assert.True(viaGateway.Status == 200, viaGateway.Body?.ToJsonString());
        Assert.Null(StructuredOutputSchemas.Problem(schema, HttpApi.ContentOf(viaGateway.Body)));
        Assert.Equal(direct.Body!["choices"]!.ToJsonString(), viaGateway.Body!["choices"]!.ToJsonString());
    }

    [Fact]
    public async Task A_schema_property_named_like_a_uld_control_is_the_clients_data_not_a_control()
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        const string schema = """{"type":"object","properties":{"uld_alpha":{"enum":["low","high"]}},"required":["uld_alpha"],"additionalProperties":false}""";
        var body = HttpApi.Chat("stories", "Once upon a time", 50);
        body["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "level", ["schema"] = JsonNode.Parse(schema) } };
        var (status, response, _) = await HttpApi.PostAsync(client, "/v1/chat/completions", body);
        Assert.True(status == 200, response?.ToJsonString());
        Assert.Null(StructuredOutputSchemas.Problem(schema, HttpApi.ContentOf(response)));
        // Elsewhere a nested control is still refused.
        body["metadata"] = new JsonObject { ["uld_alpha"] = "0" };
        Assert.Equal(400, (await HttpApi.PostAsync(client, "/v1/chat/completions", body)).Status);
    }

    [Theory]
    [InlineData("\"guided_json\":{\"type\":\"object\"}", "guided_json", "unsupported_parameter")]
    [InlineData("\"frequency_penalty\":2.5", "frequency_penalty", "decimal_above_max_value")]
    [InlineData("\"logit_bias\":{\"99999\":1}", "logit_bias", "invalid_logit_bias")]
    public async Task Refusals_come_back_from_the_replica_unchanged(string fields, string param, string code)
    {
        var stack = await fixture.SharedGatewayAsync();
        using var client = stack.Client();
        var (status, error, _) = await HttpApi.PostRawAsync(client, "/v1/chat/completions",
            $$"""{"model":"stories","messages":[{"role":"user","content":"hi"}],{{fields}}}""");
        Assert.Equal(400, status);
        Assert.Equal((param, code), (error!["error"]!["param"]!.GetValue<string>(), error["error"]!["code"]!.GetValue<string>()));
    }
}
