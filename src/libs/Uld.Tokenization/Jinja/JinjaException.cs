namespace Uld.Tokenization.Jinja;

/// <summary>A template that cannot be parsed or rendered; the message is one line naming the construct and where.</summary>
public class JinjaException(string message) : Exception(message);

/// <summary>The template itself refused the input through <c>raise_exception(...)</c> (e.g. roles out of order).</summary>
public sealed class TemplateRaisedException(string message) : JinjaException(message);
