using System.Text;
using System.Text.Json;
using Uld.Contracts.OpenAi;

namespace Uld.Web;

/// <summary>Server-sent events in the OpenAI style: "data: {json}\n\n" flushed per chunk, "data: [DONE]" at the end.</summary>
public sealed class SseWriter(HttpResponse response)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private bool _started;

    public async Task WriteAsync(object chunk, CancellationToken cancellationToken) =>
        await WriteRawAsync("data: " + JsonSerializer.Serialize(chunk, chunk.GetType(), JsonBody.Options) + "\n\n", cancellationToken);

    /// <summary>An error inside a stream: an "error" event, then [DONE].</summary>
    public async Task WriteErrorAsync(OpenAiException error, CancellationToken cancellationToken)
    {
        await WriteRawAsync("event: error\ndata: " + JsonSerializer.Serialize(error.ToResponse(), JsonBody.Options) + "\n\n", cancellationToken);
        await WriteDoneAsync(cancellationToken);
    }

    public Task WriteDoneAsync(CancellationToken cancellationToken) => WriteRawAsync("data: [DONE]\n\n", cancellationToken);

    private async Task WriteRawAsync(string text, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            // A writer may also finish a stream someone else started (the gateway ending a proxied stream).
            if (!_started && !response.HasStarted)
            {
                response.ContentType = "text/event-stream";
                response.Headers.CacheControl = "no-cache";
                response.Headers["X-Accel-Buffering"] = "no";
                _started = true;
            }
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }
}
