namespace Uld.Tokenization.Jinja;

/// <summary>A parsed chat template (lexer → parser → evaluator), rendered with Hugging Face's whitespace rules.</summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Node> _nodes;

    private JinjaTemplate(IReadOnlyList<Node> nodes) => _nodes = nodes;

    /// <exception cref="JinjaException">The template uses syntax, a tag, a filter or a test outside the supported subset.</exception>
    public static JinjaTemplate Parse(string source) => new(Parser.Parse(source));

    /// <summary>Renders with the given variables (strings, long, double, bool, null, List&lt;object?&gt;, Dictionary&lt;string, object?&gt;).</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Evaluator.Render(_nodes, variables);
}
