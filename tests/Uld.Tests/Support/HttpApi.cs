using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Uld.Tests.Support;

/// <summary>Small raw-HTTP helpers for tests that need exact bodies, headers and extension fields.</summary>
public static class HttpApi
{
    public static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(HttpClient http, string path, JsonObject body)
    {
        var response = await http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostRawAsync(HttpClient http, string path, string body)
    {
        var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public static JsonObject Chat(string model, string content, int maxTokens, double temperature = 0) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
        ["max_tokens"] = maxTokens,
        ["temperature"] = temperature,
    };

    /// <summary>Sends a chat request with one extension field set and asserts the 400 that names it, in the OpenAI error shape.</summary>
    public static async Task AssertFieldRejectedAsync(HttpClient http, string model, string field, double value)
    {
        var body = Chat(model, "Once upon a time", 5);
        body[field] = value;
        var (status, error, _) = await PostAsync(http, "/v1/chat/completions", body);
        Assert.Equal(400, status);
        Assert.Equal(field, error!["error"]!["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["error"]!["type"]!.GetValue<string>());
    }

    public static string ContentOf(JsonNode? body, int choice = 0) => body!["choices"]![choice]!["message"]!["content"]!.GetValue<string>();

    /// <summary>Reads an SSE response line by line, yielding each "data:" payload (including [DONE]) and event names.</summary>
    public static async IAsyncEnumerable<(string? Event, string Data)> ReadEventsAsync(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? eventName = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) eventName = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                yield return (eventName, line[6..]);
                eventName = null;
            }
        }
    }
}
