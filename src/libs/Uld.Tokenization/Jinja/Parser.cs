using System.Globalization;

namespace Uld.Tokenization.Jinja;

/// <summary>
/// Recursive-descent parser for the Jinja subset chat templates use: text, {{ }}, if/elif/else, for (with else,
/// loop filters, tuple targets), set (names and namespace attributes), break/continue; expressions with Jinja's
/// precedence (conditional, or, and, not, comparisons and 'in', + - ~, * / // %, unary, postfix, filters, tests).
/// Unknown tags, filters and tests are rejected here, so a template that cannot be rendered fails when it is loaded.
/// </summary>
public sealed class Parser
{
    private readonly List<Token> _tokens;
    private int _position;

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Node> Parse(string template)
    {
        var parser = new Parser(Lexer.Tokenize(template));
        var nodes = parser.ParseBlock(out var end);
        if (end is not null) throw parser.Error($"unexpected '{{% {end} %}}'");
        return nodes;
    }

    private Token Current => _tokens[_position];

    private JinjaException Error(string message) => new($"line {Current.Line}: {message}.");

    /// <summary>Nodes up to the end of input or to a statement whose keyword closes this block (returned, tag left open).</summary>
    private List<Node> ParseBlock(out string? endKeyword, params string[] endKeywords)
    {
        var nodes = new List<Node>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.End:
                    if (endKeywords.Length > 0) throw Error($"missing '{{% {endKeywords[^1]} %}}'");
                    endKeyword = null;
                    return nodes;
                case TokenKind.Text:
                    nodes.Add(new TextNode(token.Value, token.Line));
                    _position++;
                    break;
                case TokenKind.OpenExpression:
                    _position++;
                    nodes.Add(new OutputNode(ParseExpression(), token.Line));
                    Expect(TokenKind.CloseExpression);
                    break;
                case TokenKind.OpenStatement:
                    var keyword = _tokens[_position + 1];
                    if (keyword.Kind == TokenKind.Name && endKeywords.Contains(keyword.Value))
                    {
                        _position += 2;
                        endKeyword = keyword.Value;
                        return nodes;
                    }
                    _position++;
                    nodes.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected token '{token.Value}'");
            }
        }
    }

    private Node ParseStatement()
    {
        var keyword = ExpectName();
        switch (keyword.Value)
        {
            case "if": return ParseIf(keyword.Line);
            case "for": return ParseFor(keyword.Line);
            case "set": return ParseSet(keyword.Line);
            case "break" or "continue":
                Expect(TokenKind.CloseStatement);
                return new LoopControlNode(keyword.Value == "break", keyword.Line);
            default: throw new JinjaException($"line {keyword.Line}: unsupported tag '{{% {keyword.Value} %}}'.");
        }
    }

    private IfNode ParseIf(int line)
    {
        var condition = ParseExpression();
        Expect(TokenKind.CloseStatement);
        var then = ParseBlock(out var end, "elif", "else", "endif");
        IReadOnlyList<Node> otherwise = [];
        if (end == "elif")
        {
            otherwise = [ParseIf(Current.Line)];
        }
        else if (end == "else")
        {
            Expect(TokenKind.CloseStatement);
            otherwise = ParseBlock(out _, "endif");
            Expect(TokenKind.CloseStatement);
        }
        else
        {
            Expect(TokenKind.CloseStatement);
        }
        return new IfNode(condition, then, otherwise, line);
    }

    private ForNode ParseFor(int line)
    {
        var targets = new List<string> { ExpectName().Value };
        while (AcceptOperator(",")) targets.Add(ExpectName().Value);
        if (ExpectName().Value != "in") throw Error("expected 'in' in for loop");
        var iterable = ParseOr();
        Expr? filter = null;
        if (AcceptName("if")) filter = ParseOr();
        Expect(TokenKind.CloseStatement);
        var body = ParseBlock(out var end, "else", "endfor");
        IReadOnlyList<Node> otherwise = [];
        Expect(TokenKind.CloseStatement);
        if (end == "else")
        {
            otherwise = ParseBlock(out _, "endfor");
            Expect(TokenKind.CloseStatement);
        }
        return new ForNode(targets, iterable, filter, body, otherwise, line);
    }

    private SetNode ParseSet(int line)
    {
        var name = ExpectName().Value;
        string? attribute = AcceptOperator(".") ? ExpectName().Value : null;
        if (!AcceptOperator("=")) throw Error("only '{% set name = value %}' is supported");
        var value = ParseExpression();
        Expect(TokenKind.CloseStatement);
        return new SetNode(name, attribute, value, line);
    }

    public Expr ParseExpression()
    {
        var line = Current.Line;
        var value = ParseOr();
        if (!AcceptName("if")) return value;
        var condition = ParseOr();
        var otherwise = AcceptName("else") ? ParseExpression() : null;
        return new ConditionalExpr(condition, value, otherwise, line);
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.Kind == TokenKind.Name && Current.Value == "or") left = new BinaryExpr("or", left, Next(ParseAnd), left.Line);
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.Kind == TokenKind.Name && Current.Value == "and") left = new BinaryExpr("and", left, Next(ParseNot), left.Line);
        return left;
    }

    private Expr ParseNot()
    {
        var line = Current.Line;
        return AcceptName("not") ? new UnaryExpr("not", ParseNot(), line) : ParseComparison();
    }

    private Expr ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
                left = new BinaryExpr(Current.Value, left, Next(ParseAdditive), left.Line);
            else if (AcceptName("in"))
                left = new BinaryExpr("in", left, ParseAdditive(), left.Line);
            else if (Current.Kind == TokenKind.Name && Current.Value == "not" && _tokens[_position + 1] is { Kind: TokenKind.Name, Value: "in" })
            {
                _position += 2;
                left = new BinaryExpr("not in", left, ParseAdditive(), left.Line);
            }
            else return left;
        }
    }

    private Expr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Current.Kind == TokenKind.Operator && Current.Value is "+" or "-" or "~")
            left = new BinaryExpr(Current.Value, left, Next(ParseMultiplicative), left.Line);
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
            left = new BinaryExpr(Current.Value, left, Next(ParseUnary), left.Line);
        return left;
    }

    private Expr ParseUnary()
    {
        var line = Current.Line;
        if (AcceptOperator("-")) return new UnaryExpr("-", ParseUnary(), line);
        if (AcceptOperator("+")) return ParseUnary();
        return ParseFiltersAndTests(ParsePostfix(ParsePrimary()));
    }

    private Expr ParseFiltersAndTests(Expr value)
    {
        while (true)
        {
            var line = Current.Line;
            if (AcceptOperator("|"))
            {
                var name = ExpectName().Value;
                if (!Builtins.HasFilter(name)) throw new JinjaException($"line {line}: unsupported filter '{name}'.");
                var (args, kwargs) = Current is { Kind: TokenKind.Operator, Value: "(" } ? ParseArguments() : ([], []);
                value = new FilterExpr(value, name, args, kwargs, line);
            }
            else if (AcceptName("is"))
            {
                var negated = AcceptName("not");
                var name = ExpectTestName();
                if (!Builtins.HasTest(name)) throw new JinjaException($"line {line}: unsupported test '{name}'.");
                var args = Current is { Kind: TokenKind.Operator, Value: "(" } ? ParseArguments().Args : [];
                value = new TestExpr(value, name, negated, args, line);
            }
            else return value;
        }
    }

    private string ExpectTestName()
    {
        // "none", "true" and "false" are names of tests as well as literals.
        if (Current.Kind != TokenKind.Name) throw Error("expected a test name after 'is'");
        return _tokens[_position++].Value;
    }

    private Expr ParsePostfix(Expr target)
    {
        while (true)
        {
            var line = Current.Line;
            if (AcceptOperator("."))
            {
                target = new AttributeExpr(target, ExpectName().Value, line);
            }
            else if (Current is { Kind: TokenKind.Operator, Value: "(" })
            {
                var (args, kwargs) = ParseArguments();
                target = new CallExpr(target, args, kwargs, line);
            }
            else if (AcceptOperator("["))
            {
                target = ParseSubscript(target, line);
            }
            else return target;
        }
    }

    private Expr ParseSubscript(Expr target, int line)
    {
        Expr? start = Current is { Kind: TokenKind.Operator, Value: ":" } ? null : ParseExpression();
        if (AcceptOperator("]")) return new IndexExpr(target, start!, line);
        ExpectOperator(":");
        Expr? stop = Current is { Kind: TokenKind.Operator, Value: ":" or "]" } ? null : ParseExpression();
        Expr? step = null;
        if (AcceptOperator(":") && Current is not { Kind: TokenKind.Operator, Value: "]" }) step = ParseExpression();
        ExpectOperator("]");
        return new SliceExpr(target, start, stop, step, line);
    }

    private (IReadOnlyList<Expr> Args, IReadOnlyList<(string, Expr)> Kwargs) ParseArguments()
    {
        ExpectOperator("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!AcceptOperator(")"))
        {
            if (args.Count + kwargs.Count > 0) ExpectOperator(",");
            if (AcceptOperator(")")) break; // trailing comma
            if (Current.Kind == TokenKind.Name && _tokens[_position + 1] is { Kind: TokenKind.Operator, Value: "=" })
            {
                var name = ExpectName().Value;
                _position++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                args.Add(ParseExpression());
            }
        }
        return (args, kwargs);
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        _position++;
        switch (token.Kind)
        {
            case TokenKind.String:
                var text = token.Value;
                while (Current.Kind == TokenKind.String) text += _tokens[_position++].Value; // adjacent literals concatenate
                return new LiteralExpr(text, token.Line);
            case TokenKind.Integer:
                return new LiteralExpr(long.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, token.Line),
                    "false" or "False" => new LiteralExpr(false, token.Line),
                    "none" or "None" => new LiteralExpr(null, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TokenKind.Operator when token.Value == "(":
                var first = ParseExpression();
                if (AcceptOperator(")")) return first;
                var tuple = new List<Expr> { first };
                while (AcceptOperator(","))
                {
                    if (Current is { Kind: TokenKind.Operator, Value: ")" }) break;
                    tuple.Add(ParseExpression());
                }
                ExpectOperator(")");
                return new ListExpr(tuple, token.Line);
            case TokenKind.Operator when token.Value == "[":
                var items = new List<Expr>();
                while (!AcceptOperator("]"))
                {
                    if (items.Count > 0) ExpectOperator(",");
                    if (AcceptOperator("]")) break;
                    items.Add(ParseExpression());
                }
                return new ListExpr(items, token.Line);
            case TokenKind.Operator when token.Value == "{":
                var pairs = new List<(Expr, Expr)>();
                while (!AcceptOperator("}"))
                {
                    if (pairs.Count > 0) ExpectOperator(",");
                    if (AcceptOperator("}")) break;
                    var key = ParseExpression();
                    ExpectOperator(":");
                    pairs.Add((key, ParseExpression()));
                }
                return new DictExpr(pairs, token.Line);
            default:
                _position--;
                throw Error($"unexpected '{(token.Value.Length > 0 ? token.Value : token.Kind.ToString())}'");
        }
    }

    private Expr Next(Func<Expr> parse)
    {
        _position++;
        return parse();
    }

    private Token ExpectName() =>
        Current.Kind == TokenKind.Name ? _tokens[_position++] : throw Error($"expected a name, found '{Current.Value}'");

    private void Expect(TokenKind kind)
    {
        if (Current.Kind != kind) throw Error($"expected {kind}, found '{(Current.Value.Length > 0 ? Current.Value : Current.Kind.ToString())}'");
        _position++;
    }

    private void ExpectOperator(string op)
    {
        if (!AcceptOperator(op)) throw Error($"expected '{op}', found '{Current.Value}'");
    }

    private bool AcceptOperator(string op)
    {
        if (Current.Kind != TokenKind.Operator || Current.Value != op) return false;
        _position++;
        return true;
    }

    private bool AcceptName(string name)
    {
        if (Current.Kind != TokenKind.Name || Current.Value != name) return false;
        _position++;
        return true;
    }
}
