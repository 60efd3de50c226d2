using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Contracts.OpenAi;

namespace Uld.Bench;

/// <summary>The benchmark's client side: streaming chat requests, timed to the first token and counted by usage, and plain completions of token ids.</summary>
public static class LoadClient
{
    public static readonly string[] Prompts =
    [
        "Once upon a time", "Lily had a dog", "Tom and Sue went to", "The big red ball", "One day, a little bird",
        "Max was sad because", "The sun was shining", "Mom said", "There was a cat", "Ben liked to eat",
        "In the park", "The little boy", "A girl named Sara", "It was a rainy day", "The dog ran", "Grandma made a cake",
    ];

    public static async Task<(double TtftMs, int Tokens)> StreamAsync(HttpClient http, string deployment, string prompt, int maxTokens)
    {
        var body = new JsonObject
        {
            ["model"] = deployment,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double? ttft = null;
        var tokens = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            var data = line[6..];
            // A stream that fails after its first chunk ends with an OpenAI error event instead of a chunk.
            if (OpenAiWire.Error(data) is { } error) throw new UserErrorException($"{deployment}: the stream failed: {error.Message}");
            var chunk = OpenAiWire.Read<ChatCompletionChunk>(data);
            if (ttft is null && chunk.Choices.Any(c => c.Delta.Content is { Length: > 0 }))
                ttft = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (chunk.Usage is { } usage) tokens = usage.CompletionTokens;
        }
        return (ttft ?? Stopwatch.GetElapsedTime(started).TotalMilliseconds, tokens);
    }

    /// <summary>
    /// A streamed completion of token ids (greedy, EOS biased away so that it runs to <paramref name="maxTokens"/> or
    /// until cancelled): the <see cref="Stopwatch"/> timestamp of every chunk that brought tokens, in arrival order.
    /// Cancelling ends it without an error (the server frees its slot at its next step). <paramref name="onTokens"/> is
    /// called at each such chunk, as it arrives.
    /// </summary>
    public static async Task<List<long>> StreamTimestampsAsync(HttpClient http, string model, int[] prompt, int maxTokens, int eos, CancellationToken cancel = default,
        Action? onTokens = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["prompt"] = new JsonArray(prompt.Select(t => (JsonNode)t).ToArray()),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["stream"] = true,
            ["logit_bias"] = new JsonObject { [eos.ToString(System.Globalization.CultureInfo.InvariantCulture)] = -100 },
        };
        var arrivals = new List<long>();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
            if (!response.IsSuccessStatusCode) throw new UserErrorException($"{model}: HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancel)}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
            while (await reader.ReadLineAsync(cancel) is { } line)
            {
                if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
                var data = line[6..];
                if (OpenAiWire.Error(data) is { } error) throw new UserErrorException($"{model}: the stream failed: {error.Message}");
                // A token whose text is not complete yet (part of a UTF-8 character) arrives with the next one.
                if (!OpenAiWire.Read<Completion>(data).Choices.Any(c => c.Text.Length > 0)) continue;
                arrivals.Add(Stopwatch.GetTimestamp());
                onTokens?.Invoke();
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
        return arrivals;
    }

    /// <summary>A greedy completion of token ids; the tokens counted are the server's own usage (a random model may stop early at EOS).</summary>
    public static async Task<(double Seconds, int Tokens)> CompleteAsync(HttpClient http, string model, int[] prompt, int maxTokens)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["prompt"] = new JsonArray(prompt.Select(t => (JsonNode)t).ToArray()),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
        };
        var clock = Stopwatch.StartNew();
        using var response = await http.PostAsync("/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new UserErrorException($"{model}: HTTP {(int)response.StatusCode}: {OpenAiWire.Error(text)?.Message ?? text}");
        var tokens = (OpenAiWire.Read<Completion>(text).Usage ?? throw new UserErrorException($"{model}: the completion reports no usage.")).CompletionTokens;
        return (clock.Elapsed.TotalSeconds, tokens);
    }
}
