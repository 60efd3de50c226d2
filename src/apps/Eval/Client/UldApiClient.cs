using Uld.Contracts;
using Uld.Contracts.OpenAi;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Evaluation.Data;
using Uld.Evaluation.Metrics;

namespace Uld.Eval.Client;

/// <summary>
/// The calls evaluation makes against an OpenAI-compatible server (LogitServer or the gateway): chat-template
/// tokenisation (/tokenize), answer scoring (pre-tokenised /v1/completions with echo + logprobs, max_tokens 0) and
/// greedy generation. Scoring from token ids makes the answer's tokens exactly those the model was trained on.
/// </summary>
public sealed class UldApiClient(HttpClient http)
{
    public static HttpClient CreateHttp(Uri baseUrl, string? apiKey)
    {
        var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(5) };
        if (!string.IsNullOrEmpty(apiKey)) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return http;
    }

    /// <summary>The prompt a chat request with one user question becomes (template + BOS).</summary>
    public async Task<int[]> ChatPromptAsync(string model, string question, CancellationToken ct) =>
        await TokensAsync(new JsonObject { ["model"] = model, ["messages"] = UserMessage(question) }, ct);

    /// <summary>The prompt a chat request with these messages becomes (template + generation prompt), and the model's context length.</summary>
    public async Task<Tokenized> ChatPromptAsync(string model, IReadOnlyList<ChatTurn> messages, CancellationToken ct) =>
        await TokenizeAsync(new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
        }, ct);

    /// <summary>Token ids of raw text as the deployment's tokenizer encodes it, and the model's context length.</summary>
    public async Task<Tokenized> TextTokensAsync(string model, string text, bool addSpecialTokens, CancellationToken ct) =>
        await TokenizeAsync(new JsonObject { ["model"] = model, ["prompt"] = text, ["add_special_tokens"] = addSpecialTokens }, ct);

    /// <summary>Text of token ids (special tokens left out), as the deployment's tokenizer decodes them.</summary>
    public async Task<string> DetokenizeAsync(string model, IReadOnlyList<int> tokens, CancellationToken ct)
    {
        var response = await PostAsync<DetokenizeResponse>("/detokenize", new JsonObject { ["model"] = model, ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]) }, ct);
        return response.Prompt;
    }

    /// <summary>Token ids of an answer as it follows "Answer:" (a leading space, no BOS).</summary>
    public async Task<int[]> AnswerTokensAsync(string model, string answer, CancellationToken ct) =>
        await TokensAsync(new JsonObject { ["model"] = model, ["prompt"] = " " + answer, ["add_special_tokens"] = false }, ct);

    /// <summary>log P(answer | prompt) under the deployment's served distribution.</summary>
    public async Task<AnswerScore> ScoreAsync(DeploymentRef d, IReadOnlyList<int> prompt, IReadOnlyList<int> answer, CancellationToken ct)
    {
        var logprobs = await AnswerLogprobsAsync(d, prompt, answer, ct);
        return new AnswerScore(logprobs.Sum(), logprobs.Length);
    }

    /// <summary>Per-token log-probabilities of <paramref name="answer"/> after <paramref name="prompt"/>.</summary>
    public async Task<double[]> AnswerLogprobsAsync(DeploymentRef d, IReadOnlyList<int> prompt, IReadOnlyList<int> answer, CancellationToken ct)
    {
        if (answer.Count == 0) return [];
        var body = Request(d, new JsonObject
        {
            ["prompt"] = new JsonArray([.. prompt.Concat(answer).Select(t => (JsonNode)t)]),
            ["echo"] = true, ["logprobs"] = 0, ["max_tokens"] = 0,
        });
        var response = await PostAsync<Completion>("/v1/completions", body, ct);
        var logprobs = FirstChoice(response.Choices, "/v1/completions").Logprobs?.TokenLogprobs
                       ?? throw new EvaluationException("/v1/completions answered without the echoed logprobs it was asked for.");
        // Echoed logprobs cover every prompt token after BOS; the answer's are the last |answer|.
        return logprobs.Skip(logprobs.Count - answer.Count)
            .Select(l => l ?? throw new EvaluationException("/v1/completions answered an answer token without its logprob.")).ToArray();
    }

    /// <summary>Greedy chat answer to one question.</summary>
    public async Task<string> AnswerAsync(DeploymentRef d, string question, int maxTokens, CancellationToken ct)
    {
        var response = await PostAsync<ChatCompletion>("/v1/chat/completions",
            Request(d, new JsonObject { ["messages"] = UserMessage(question), ["max_tokens"] = maxTokens, ["temperature"] = 0 }), ct);
        return FirstChoice(response.Choices, "/v1/chat/completions").Message.Content ?? ""; // null only for a tool call, which evaluation never asks for
    }

    /// <summary>Greedy continuation of a token prompt (VerbMem).</summary>
    public async Task<string> ContinueAsync(DeploymentRef d, IReadOnlyList<int> prompt, int maxTokens, CancellationToken ct) =>
        (await ContinuationAsync(d, prompt, maxTokens, ct)).Text;

    /// <summary>
    /// Greedy continuation of a token prompt with the number of tokens generated. The text is what follows the prompt's
    /// text (a SentencePiece first token keeps its leading space), so prompt text + continuation is what the model wrote.
    /// </summary>
    public async Task<Continuation> ContinuationAsync(DeploymentRef d, IReadOnlyList<int> prompt, int maxTokens, CancellationToken ct)
    {
        var response = await PostAsync<Completion>("/v1/completions", Request(d, new JsonObject
        {
            ["prompt"] = new JsonArray([.. prompt.Select(t => (JsonNode)t)]), ["max_tokens"] = maxTokens, ["temperature"] = 0,
        }), ct);
        var usage = response.Usage ?? throw new EvaluationException("/v1/completions answered without usage.");
        return new Continuation(FirstChoice(response.Choices, "/v1/completions").Text, usage.CompletionTokens);
    }

    /// <summary>
    /// The A/B variant a user lands in behind the gateway (its X-Uld-Variant header on a one-token request), or null
    /// when the model is not an experiment.
    /// </summary>
    public async Task<string?> VariantOfAsync(string experiment, string user, CancellationToken ct)
    {
        var body = new JsonObject { ["model"] = experiment, ["user"] = user, ["messages"] = UserMessage("Hello"), ["max_tokens"] = 1 };
        using var response = await SendAsync("/v1/chat/completions", body, ct);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            throw new EvaluationException($"experiment '{experiment}' answered {(int)response.StatusCode}: {OpenAiWire.Error(text)?.Message ?? text}");
        }
        return response.Headers.TryGetValues("X-Uld-Variant", out var values) ? values.FirstOrDefault() : null;
    }

    private async Task<int[]> TokensAsync(JsonObject body, CancellationToken ct) => (await TokenizeAsync(body, ct)).Tokens;

    private async Task<Tokenized> TokenizeAsync(JsonObject body, CancellationToken ct)
    {
        var response = await PostAsync<TokenizeResponse>("/tokenize", body, ct);
        return new Tokenized([.. response.Tokens], response.MaxModelLength);
    }

    private static T FirstChoice<T>(IReadOnlyList<T>? choices, string path) =>
        choices is [var first, ..] ? first : throw new EvaluationException($"{path} answered no choice.");

    private static JsonArray UserMessage(string question) => [new JsonObject { ["role"] = "user", ["content"] = question }];

    private static JsonObject Request(DeploymentRef d, JsonObject body)
    {
        body["model"] = d.Model;
        if (d.Alpha is { } alpha) body["uld_alpha"] = alpha;
        if (d.RelativeTop is { } r) body["uld_relative_top"] = r;
        if (d.User is { } user) body["user"] = user;
        return body;
    }

    /// <summary>Attempts per request when the server says "later" (429 rate limit, 503 queue full).</summary>
    private const int Attempts = 6;

    private async Task<T> PostAsync<T>(string path, JsonObject body, CancellationToken ct) where T : class
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await SendAsync(path, body, ct);
            if (response.StatusCode is System.Net.HttpStatusCode.TooManyRequests or System.Net.HttpStatusCode.ServiceUnavailable && attempt < Attempts)
            {
                // Wait as long as the server asks (Retry-After), or back off exponentially.
                var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(Math.Pow(2, attempt - 1));
                await Task.Delay(wait, ct);
                continue;
            }
            return await ReadAsync<T>(response, path, body, ct);
        }
    }

    /// <summary>A server that cannot be reached is the user's --url (or a server they have not started), not a defect.</summary>
    private async Task<HttpResponseMessage> SendAsync(string path, JsonObject body, CancellationToken ct)
    {
        try
        {
            return await http.PostAsJsonAsync(path, body, ct);
        }
        catch (HttpRequestException e)
        {
            throw new UserErrorException($"cannot reach {new Uri(http.BaseAddress!, path)}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new UserErrorException($"{new Uri(http.BaseAddress!, path)} did not answer within {http.Timeout.TotalSeconds:0} s.", e);
        }
    }

    /// <summary>The answer as the record the server writes; an error is its OpenAI message, an answer of another shape says so.</summary>
    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, string path, JsonObject body, CancellationToken ct) where T : class
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
            throw new EvaluationException($"{path} for '{body["model"]}' answered {(int)response.StatusCode}: {OpenAiWire.Error(text)?.Message ?? text}");
        try
        {
            return OpenAiWire.Read<T>(text);
        }
        catch (JsonException e)
        {
            throw new EvaluationException($"{path} for '{body["model"]}' answered what is not a {typeof(T).Name}: {e.Message}");
        }
    }
}
