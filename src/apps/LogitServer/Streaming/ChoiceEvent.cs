using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Streaming;

/// <summary>What happened to one choice of a request, in order per choice; formatters turn these into JSON or SSE.</summary>
public abstract record ChoiceEvent(int Index);

/// <summary>
/// New text for the choice (possibly empty: held back for a stop string or an incomplete character), with the token
/// that produced it; a held-back tail released at the end comes without a token.
/// </summary>
public sealed record ChoiceText(int Index, string Text, TokenEvent? Token) : ChoiceEvent(Index);

/// <summary>The prompt's log-probabilities (completions with echo + logprobs; the first choice only).</summary>
public sealed record ChoicePromptLogprobs(int Index, PromptLogprobsEvent Logprobs) : ChoiceEvent(Index);

/// <summary>The choice ended: "stop" (EOS or a stop string) or "length".</summary>
public sealed record ChoiceFinished(int Index, string Reason) : ChoiceEvent(Index);

/// <summary>The engine failed this choice; the request cannot be completed.</summary>
public sealed record ChoiceFailed(int Index, string Message) : ChoiceEvent(Index);
