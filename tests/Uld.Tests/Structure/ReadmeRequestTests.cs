using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Uld.Gateway;
using Uld.Gateway.Security;
using Uld.Tests.Support;

namespace Uld.Tests.Structure;

/// <summary>
/// The README's two requests — the curl and the OpenAI SDK call — sent as written to a gateway configured as
/// quickstart.sh configures it, in front of a LogitServer serving models/deployments.json: they are admitted, served
/// at the α the README says, and an α below the floor is refused with the code the README names.
/// </summary>
public sealed partial class ReadmeRequestTests
{
    [Fact]
    public async Task The_curl_and_the_SDK_request_of_the_README_are_served_as_it_says()
    {
        var readme = File.ReadAllText(Path.Combine(SharedPaths.RepositoryRoot, "README.md"));
        var curl = Curl().Match(readme);
        Assert.True(curl.Success, "the README shows no curl to /v1/chat/completions");
        var sdk = SdkCall().Match(readme);
        Assert.True(sdk.Success, "the README shows no client.chat.completions.create call");
        var key = curl.Groups["key"].Value;
        Assert.Equal(key, sdk.Groups["key"].Value);
        Assert.Equal($"{curl.Groups["origin"].Value}/v1", sdk.Groups["base"].Value);

        // What openai-python sends: the keyword arguments as JSON fields, extra_body merged in at the top level.
        var sdkBody = new JsonObject();
        foreach (Match argument in SdkArgument().Matches(sdk.Groups["arguments"].Value))
        {
            var value = JsonNode.Parse(argument.Groups["value"].Value);
            if (argument.Groups["name"].Value != "extra_body") sdkBody[argument.Groups["name"].Value] = value;
            else foreach (var (field, extra) in value!.AsObject().ToList()) sdkBody[field] = extra?.DeepClone();
        }
        var requested = sdkBody["uld_alpha"]!.GetValue<double>();

        // "Unlearn your own data": the entry the README adds to models/deployments.json, with the default assistant
        // standing in for the one the reader trains. It must load and serve that assistant's calibrated α.
        var settings = RepositoryModels.DefaultDeploymentSettings();
        var entry = JsonNode.Parse(Regex.Replace(OwnEntry().Match(readme).Value, @"\s+", " "))!.AsObject();
        var own = settings.Keys.Count(k => k.EndsWith(":Name", StringComparison.Ordinal));
        foreach (var (field, value) in entry)
            settings[$"LogitServer:Deployments:{own}:{field}"] = field switch
            {
                "Base" => Path.Combine(SharedPaths.RepositoryRoot, value!.GetValue<string>()),
                "Assistant" => RepositoryModels.UldAssistant,
                _ => value!.ToString(),
            };
        await using var server = await LogitServerHost.StartAsync(settings);
        var (gateway, address) = await GatewayApp.StartOnLoopbackAsync(QuickstartGateway(server.BaseAddress, key));
        try
        {
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(1) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
            async Task<(HttpStatusCode Status, JsonNode Body)> Post(string body)
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
                while (true)
                {
                    using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
                    var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                    // The gateway answers 503 policy_unknown until it has read the replica's /v1/models.
                    if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline) return (response.StatusCode, json);
                    await Task.Delay(100);
                }
            }

            // The curl: no α, so the assistant's calibrated α is served.
            var calibrated = JsonNode.Parse(File.ReadAllText(Path.Combine(SharedPaths.RepositoryRoot, "models", "tofu-mini-uld", "manifest.json")))!["metrics"]!["calibration"]!["recommended_alpha"]!.GetValue<double>();
            var listed = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray()
                .Single(m => m!["id"]!.GetValue<string>() == entry["Name"]!.GetValue<string>())!["uld"]!;
            Assert.Equal(calibrated, listed["alpha_default"]!.GetValue<double>());
            Assert.Equal((entry["AlphaMin"]!.GetValue<double>(), entry["AlphaMax"]!.GetValue<double>()),
                (listed["alpha_min"]!.GetValue<double>(), listed["alpha_max"]!.GetValue<double>()));

            var (status, reply) = await Post(curl.Groups["body"].Value);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(calibrated, reply["uld_alpha"]!.GetValue<double>());
            Assert.False(string.IsNullOrWhiteSpace(reply["choices"]![0]!["message"]!["content"]!.GetValue<string>()));

            // The SDK call: the α it asks for, inside the floor and ceiling the README quotes.
            var deployment = settings.Single(kv => kv.Key.EndsWith(":Name", StringComparison.Ordinal) && kv.Value == sdkBody["model"]!.GetValue<string>()).Key[..^"Name".Length];
            var floor = double.Parse(settings[deployment + "AlphaMin"]!, CultureInfo.InvariantCulture);
            var ceiling = double.Parse(settings[deployment + "AlphaMax"]!, CultureInfo.InvariantCulture);
            Assert.Contains($"from the floor ({floor.ToString(CultureInfo.InvariantCulture)}) to the ceiling ({ceiling.ToString(CultureInfo.InvariantCulture)})", sdk.Value);
            (status, reply) = await Post(sdkBody.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(requested, reply["uld_alpha"]!.GetValue<double>());
            Assert.Equal(sdkBody["model"]!.GetValue<string>(), reply["model"]!.GetValue<string>());

            // Below the floor: refused as the README says, before any replica serves it.
            sdkBody["uld_alpha"] = floor / 2;
            (status, reply) = await Post(sdkBody.ToJsonString());
            Assert.Equal((HttpStatusCode.Forbidden, "alpha_below_floor"), (status, reply["error"]!["code"]!.GetValue<string>()));
            Assert.Contains("(403 `alpha_below_floor`)", readme);
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
    }

    /// <summary>The gateway quickstart.sh starts: one cluster of the default deployments, the experiment, one key.</summary>
    private static Dictionary<string, string?> QuickstartGateway(Uri replica, string key) => new()
    {
        ["Gateway:Clusters:local:Replicas:0"] = replica.ToString(),
        ["Gateway:Clusters:local:Models:0"] = "tofu-mini-target",
        ["Gateway:Clusters:local:Models:1"] = "tofu-mini-uld",
        ["Gateway:Clusters:local:Models:2"] = "tofu-mini-npo-gd",
        ["Gateway:Experiments:tofu-mini-ab:Variants:0:Name"] = "uld",
        ["Gateway:Experiments:tofu-mini-ab:Variants:0:Model"] = "tofu-mini-uld",
        ["Gateway:Experiments:tofu-mini-ab:Variants:1:Name"] = "npo-gd",
        ["Gateway:Experiments:tofu-mini-ab:Variants:1:Model"] = "tofu-mini-npo-gd",
        ["Gateway:HealthCheckInterval"] = TimeSpan.FromSeconds(1).ToString("c"),
        ["Gateway:ApiKeys:0:Name"] = "quickstart",
        ["Gateway:ApiKeys:0:Sha256"] = ApiKeyStore.Hash(key),
    };

    /// <summary>The deployment entry of "Unlearn your own data", which may wrap over lines of its paragraph.</summary>
    [GeneratedRegex(@"\{""Name"": ""my-uld""[^}]*\}")]
    private static partial Regex OwnEntry();

    [GeneratedRegex(@"curl -s (?<origin>http://[\w.:]+)/v1/chat/completions -H ""Authorization: Bearer (?<key>[^""]+)""[^\n]*\\\n\s*-d '(?<body>[^']+)'")]
    private static partial Regex Curl();

    [GeneratedRegex(@"OpenAI\(base_url=""(?<base>[^""]+)"", api_key=""(?<key>[^""]+)""\)\n\w+ = client\.chat\.completions\.create\((?<arguments>.*?)\n\)", RegexOptions.Singleline)]
    private static partial Regex SdkCall();

    /// <summary>One keyword argument per line: <c>name=JSON,</c> with an optional comment.</summary>
    [GeneratedRegex(@"^\s+(?<name>\w+)=(?<value>.+?),(?:\s+#.*)?$", RegexOptions.Multiline)]
    private static partial Regex SdkArgument();
}
