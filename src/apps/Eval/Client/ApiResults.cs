using Uld.Contracts;

namespace Uld.Eval.Client;

/// <summary>Token ids from /tokenize and the deployment's context length (its <c>max_model_len</c>).</summary>
public sealed record Tokenized(int[] Tokens, int ContextLength);

/// <summary>A greedy continuation's text and how many tokens the model generated (0: it ended at once).</summary>
public sealed record Continuation(string Text, int Tokens);

/// <summary>The server refused or failed a request evaluation depends on (an HTTP failure with the server's message).</summary>
public sealed class EvaluationException(string message) : UserErrorException(message);
