using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Uld.Contracts.OpenAi;

namespace Uld.Web;

/// <summary>Every failure leaves as an OpenAI-shaped error with the right status (and Retry-After when it applies).</summary>
public sealed class OpenAiErrorMiddleware(RequestDelegate next, ILogger<OpenAiErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            // Refuse a declared oversize body before reading it, so the client gets a 413 rather than a reset.
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            if (context.Request.ContentLength > limit)
                throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; there is no one to answer.
        }
        catch (Exception e)
        {
            var error = e switch
            {
                OpenAiException o => o,
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                    new OpenAiException(413, "The request body is too large.", "invalid_request_error", null, "request_too_large"),
                BadHttpRequestException b => OpenAiException.InvalidRequest(b.Message),
                _ => new OpenAiException(500, "The server had an error while processing your request.", "server_error"),
            };
            if (error.Status >= 500 && e is not OpenAiException) logger.LogError(e, "Unhandled error on {Path}", context.Request.Path);
            if (context.Response.HasStarted) return; // a stream reports its own errors in-band
            await WriteAsync(context, error);
        }
    }

    public static async Task WriteAsync(HttpContext context, OpenAiException error)
    {
        context.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(error.ToResponse(), JsonBody.Options));
    }
}
