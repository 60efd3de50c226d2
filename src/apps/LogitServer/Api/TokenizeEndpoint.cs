using Uld.Contracts.OpenAi;
using Uld.LogitServer.Deployments;
using Uld.Web;

namespace Uld.LogitServer.Api;

/// <summary>
/// POST /tokenize and /detokenize (vLLM's extension endpoints): the exact token ids a deployment sees for a text or
/// for chat messages. Evaluation scores answers with them through pre-tokenised completions prompts.
/// </summary>
public static class TokenizeEndpoint
{
    public static async Task<IResult> TokenizeAsync(HttpContext context, DeploymentRegistry registry)
    {
        var request = await JsonBody.ReadAsync<TokenizeRequest>(context.Request, context.RequestAborted);
        using var lease = registry.Acquire(request.Model);
        var deployment = lease.Deployment;
        IReadOnlyList<int> tokens;
        if (request.Messages is not null)
        {
            if (request.Prompt is not null) throw OpenAiException.InvalidRequest("give either 'prompt' or 'messages', not both.", "prompt");
            tokens = PromptBuilder.Chat(deployment, PromptBuilder.Messages(request.Messages));
        }
        else
        {
            var text = request.Prompt ?? throw OpenAiException.InvalidRequest("'prompt' or 'messages' is required.", "prompt");
            tokens = deployment.Tokenizer.Encode(text, addBos: request.AddSpecialTokens ?? true);
        }
        return Results.Json(new TokenizeResponse(tokens.Count, deployment.ContextLength, tokens), JsonBody.Options);
    }

    public static async Task<IResult> DetokenizeAsync(HttpContext context, DeploymentRegistry registry)
    {
        var request = await JsonBody.ReadAsync<DetokenizeRequest>(context.Request, context.RequestAborted);
        using var lease = registry.Acquire(request.Model);
        var deployment = lease.Deployment;
        var tokens = request.Tokens ?? throw OpenAiException.InvalidRequest("'tokens' is required.", "tokens");
        var vocab = deployment.Tokenizer.VocabSize;
        if (tokens.Any(t => t < 0 || t >= vocab)) throw OpenAiException.InvalidRequest($"token ids must be in 0..{vocab - 1}.", "tokens");
        return Results.Json(new DetokenizeResponse(deployment.Tokenizer.Decode(tokens, skipSpecialTokens: true)), JsonBody.Options);
    }
}
