namespace Uld.Contracts.OpenAi;

/// <summary>
/// How a LogitServer that is shutting down refuses a request, so that a gateway can tell it apart from any other 503:
/// the request never reached generation, and another replica can serve it.
/// </summary>
public static class ReplicaDraining
{
    /// <summary>Set to <see cref="HeaderValue"/> on every response a draining replica refuses.</summary>
    public const string Header = "X-Uld-Replica-State";
    public const string HeaderValue = "draining";
    /// <summary>The OpenAI error <c>code</c> of the refusal (status 503, type server_error, with Retry-After).</summary>
    public const string ErrorCode = "replica_draining";
}
