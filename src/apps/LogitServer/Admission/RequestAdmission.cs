using System.Text.Json;
using Microsoft.Extensions.Options;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Api;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Engine;
using Uld.LogitServer.StructuredOutput;
using Uld.LogitServer.Tools;
using Uld.Web;

namespace Uld.LogitServer.Admission;

/// <summary>
/// The one way into the engine for chat and text completions: the body is parsed once and strictly, the deployment
/// resolved once, sampling settings and α/r checked against the deployment's policy, the prompt rendered and
/// tokenized. Anything wrong is a 400 naming the field — a request that could lower α (or an offset deployment's β)
/// below the floor is never served. An admitted request holds the deployment version it resolved until it ends
/// (<see cref="AdmittedRequest.Lease"/>), so a replacement meanwhile never changes what serves it.
/// </summary>
public sealed class RequestAdmission(DeploymentRegistry registry, IOptions<LogitServerOptions> options)
{
    /// <summary>OpenAI's default <c>max_tokens</c> for /v1/completions.</summary>
    public const int CompletionsDefaultMaxTokens = 16;

    /// <summary>
    /// Duplicate keys are refused rather than last-one-wins: a proxy that checks the first <c>uld_alpha</c> and a server
    /// that uses the second would disagree about the α floor. Numbers must be JSON numbers (no "0.1", no "NaN").
    /// </summary>
    private static readonly JsonSerializerOptions Strict = new(JsonBody.Options) { AllowDuplicateProperties = false };

    public async Task<AdmittedRequest> AdmitChatAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        var request = await JsonBody.ReadAsync<ChatCompletionRequest>(http, cancellationToken, Strict);
        var messages = PromptBuilder.Messages(request.Messages);
        return Holding(Resolve(request, CompletionEndpoints.Chat), lease =>
        {
            var deployment = lease.Deployment;
            if (request.TopLogprobs is not null && request.Logprobs != true)
                throw OpenAiException.InvalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            var logprobs = request.Logprobs == true;
            var tools = ToolUse.Read(request.Tools, request.ToolChoice, deployment.ChatTemplate);
            // A forced call is decoded under its own grammar, which takes the place of any response_format.
            var grammar = ResponseFormats.Read(request.ResponseFormat);
            if (tools is { Forced: true }) grammar = ToolCallGrammar.For(tools);
            return Admit(request, lease, PromptBuilder.Chat(deployment, messages, tools), promptText: null,
                request.MaxCompletionTokens ?? request.MaxTokens, options.Value.DefaultMaxTokens, allowZeroTokens: false,
                logprobs, logprobs ? request.TopLogprobs ?? 0 : 0, echo: false, contextToken: null) with { Grammar = grammar, Tools = tools is { Active: true } ? tools : null };
        });
    }

    public async Task<AdmittedRequest> AdmitCompletionAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        var request = await JsonBody.ReadAsync<CompletionRequest>(http, cancellationToken, Strict);
        return Holding(Resolve(request, CompletionEndpoints.Completions), lease =>
        {
            var (prompt, text) = PromptBuilder.Completion(lease.Deployment, request.Prompt);
            var echo = request.Echo ?? false;
            if (request.Stream == true && echo && request.Logprobs is not null)
                throw OpenAiException.InvalidRequest("echo with logprobs is not supported when streaming.", "stream");
            return Admit(request, lease, prompt, text, request.MaxTokens ?? CompletionsDefaultMaxTokens, CompletionsDefaultMaxTokens,
                allowZeroTokens: true, request.Logprobs is not null, request.Logprobs ?? 0, echo, contextToken: prompt[^1]);
        });
    }

    /// <summary>Admits under <paramref name="lease"/>; a refused request gives its hold back at once.</summary>
    private static T Holding<T>(DeploymentLease lease, Func<DeploymentLease, T> admit)
    {
        try
        {
            return admit(lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private DeploymentLease Resolve(CompletionRequestBase request, CompletionEndpoints endpoint)
    {
        return Holding(registry.Acquire(request.Model), lease =>
        {
            CheckUnknownFields(request, endpoint);
            return lease;
        });
    }

    private static void CheckUnknownFields(CompletionRequestBase request, CompletionEndpoints endpoint)
    {
        // Unknown OpenAI fields are ignored for compatibility, but a misspelt or misplaced ULD control (at the top or
        // nested in another object) must not silently do nothing.
        foreach (var (key, value) in request.Unknown ?? [])
        {
            if (UldControlFields.Find(key, JsonSerializer.SerializeToNode(value)) is { } path) throw OpenAiException.InvalidRequest($"Unknown parameter '{path}'.", path);
        }
        UnsupportedParameters.Check(request.Unknown, endpoint);
    }

    private AdmittedRequest Admit(CompletionRequestBase r, DeploymentLease lease, IReadOnlyList<int> prompt, string? promptText,
        int? maxTokens, int defaultMaxTokens, bool allowZeroTokens, bool logprobs, int topLogprobs, bool echo, int? contextToken)
    {
        var deployment = lease.Deployment;
        // A bias may name only ids both the tokenizer and the model's logits have.
        var sampler = SamplingControls.Read(r, Math.Min(deployment.Tokenizer.VocabSize, deployment.Vocab));
        var n = r.N ?? 1;
        if (n is < 1 or > 16) throw OpenAiException.InvalidRequest("'n' must be between 1 and 16.", "n");
        var stop = r.Stop ?? [];
        if (stop.Count > 4 || stop.Any(string.IsNullOrEmpty)) throw OpenAiException.InvalidRequest("'stop' takes up to 4 non-empty strings.", "stop");
        if (topLogprobs is < 0 or > 20) throw OpenAiException.InvalidRequest("top logprobs must be between 0 and 20.", r is CompletionRequest ? "logprobs" : "top_logprobs");
        var controls = deployment.Kind.Admit(deployment.Options, r);

        var room = deployment.ContextLength - prompt.Count;
        if (maxTokens is < 0 || (maxTokens == 0 && !allowZeroTokens))
        {
            // Named as the client sent it: chat's max_completion_tokens takes precedence over max_tokens.
            var field = r is ChatCompletionRequest { MaxCompletionTokens: not null } ? "max_completion_tokens" : "max_tokens";
            throw OpenAiException.InvalidRequest($"'{field}' must be at least 1.", field);
        }
        if (room < (maxTokens ?? 1) || (room <= 0 && !allowZeroTokens))
        {
            throw OpenAiException.InvalidRequest(
                $"This model's maximum context length is {deployment.ContextLength} tokens. However, you requested {prompt.Count + (maxTokens ?? 1)} tokens ({prompt.Count} in the prompt, {maxTokens ?? 1} for the completion).",
                r is ChatCompletionRequest ? "messages" : "prompt", "context_length_exceeded");
        }

        return new AdmittedRequest
        {
            Deployment = deployment,
            Scheduler = lease.Scheduler,
            Lease = lease,
            Prompt = prompt,
            PromptText = promptText,
            N = n,
            MaxTokens = maxTokens ?? Math.Min(defaultMaxTokens, room),
            Stop = stop,
            Sampling = new SamplingParameters(sampler, controls.Alpha, controls.RelativeTop, topLogprobs, controls.OffsetBeta),
            Stream = r.Stream ?? false,
            IncludeUsage = r.StreamOptions?.IncludeUsage ?? false,
            Logprobs = logprobs,
            Echo = echo,
            ContextToken = contextToken,
        };
    }
}
