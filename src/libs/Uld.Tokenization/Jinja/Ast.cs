namespace Uld.Tokenization.Jinja;

// Statements.
public abstract record Node(int Line);
public sealed record TextNode(string Text, int Line) : Node(Line);
public sealed record OutputNode(Expr Value, int Line) : Node(Line);
public sealed record IfNode(Expr Condition, IReadOnlyList<Node> Then, IReadOnlyList<Node> Else, int Line) : Node(Line);
public sealed record ForNode(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, int Line) : Node(Line);
public sealed record SetNode(string Name, string? Attribute, Expr Value, int Line) : Node(Line);
public sealed record LoopControlNode(bool IsBreak, int Line) : Node(Line);

// Expressions.
public abstract record Expr(int Line);
public sealed record LiteralExpr(object? Value, int Line) : Expr(Line);
public sealed record NameExpr(string Name, int Line) : Expr(Line);
public sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);
public sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items, int Line) : Expr(Line);
public sealed record AttributeExpr(Expr Target, string Name, int Line) : Expr(Line);
public sealed record IndexExpr(Expr Target, Expr Index, int Line) : Expr(Line);
public sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);
public sealed record CallExpr(Expr Target, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);
public sealed record FilterExpr(Expr Value, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);
public sealed record TestExpr(Expr Value, string Name, bool Negated, IReadOnlyList<Expr> Args, int Line) : Expr(Line);
public sealed record UnaryExpr(string Operator, Expr Operand, int Line) : Expr(Line);
public sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);
public sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Else, int Line) : Expr(Line);
