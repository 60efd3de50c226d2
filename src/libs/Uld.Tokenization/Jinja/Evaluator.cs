using System.Text;

namespace Uld.Tokenization.Jinja;

/// <summary>Runs a parsed template: statements write to the output, expressions evaluate with Python semantics.</summary>
public sealed class Evaluator
{
    private enum Flow { Normal, Break, Continue }

    /// <summary>Variables of one scope; a for loop gets its own, so its 'set's do not leak (hence namespace()).</summary>
    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

        public void Set(string name, object? value) => _variables[name] = value;

        public object? Get(string name)
        {
            for (var scope = this; scope is not null; scope = scope.Parent)
            {
                if (scope._variables.TryGetValue(name, out var value)) return value;
            }
            return Builtins.Globals.TryGetValue(name, out var global) ? global : Undefined.Instance;
        }

        private Scope? Parent { get; } = parent;
    }

    private readonly StringBuilder _output = new();

    public static string Render(IReadOnlyList<Node> template, IReadOnlyDictionary<string, object?> variables)
    {
        var root = new Scope(null);
        foreach (var (name, value) in variables) root.Set(name, value);
        var evaluator = new Evaluator();
        evaluator.Execute(template, root);
        return evaluator._output.ToString();
    }

    private Flow Execute(IReadOnlyList<Node> nodes, Scope scope)
    {
        foreach (var node in nodes)
        {
            var flow = Execute(node, scope);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(Node node, Scope scope)
    {
        switch (node)
        {
            case TextNode text:
                _output.Append(text.Text);
                return Flow.Normal;
            case OutputNode output:
                _output.Append(Values.ToText(Evaluate(output.Value, scope)));
                return Flow.Normal;
            case IfNode conditional:
                return Execute(Values.IsTruthy(Evaluate(conditional.Condition, scope)) ? conditional.Then : conditional.Else, scope);
            case ForNode loop:
                ExecuteFor(loop, scope);
                return Flow.Normal;
            case SetNode set:
                Assign(set, scope);
                return Flow.Normal;
            case LoopControlNode control:
                return control.IsBreak ? Flow.Break : Flow.Continue;
            default:
                throw new JinjaException($"line {node.Line}: cannot execute {node.GetType().Name}.");
        }
    }

    private void ExecuteFor(ForNode loop, Scope scope)
    {
        var items = Builtins.Sequence(Evaluate(loop.Iterable, scope), loop.Line);
        var body = new Scope(scope);
        if (loop.Filter is not null)
        {
            items = items.Where(item =>
            {
                Bind(loop, body, item);
                return Values.IsTruthy(Evaluate(loop.Filter, body));
            }).ToList();
        }
        if (items.Count == 0)
        {
            Execute(loop.Else, scope);
            return;
        }
        for (var i = 0; i < items.Count; i++)
        {
            Bind(loop, body, items[i]);
            body.Set("loop", new Dictionary<string, object?>
            {
                ["index"] = (long)i + 1, ["index0"] = (long)i, ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Instance,
            });
            if (Execute(loop.Body, body) == Flow.Break) break;
        }
    }

    private static void Bind(ForNode loop, Scope scope, object? item)
    {
        if (loop.Targets.Count == 1)
        {
            scope.Set(loop.Targets[0], item);
            return;
        }
        if (item is not List<object?> tuple || tuple.Count != loop.Targets.Count)
            throw new JinjaException($"line {loop.Line}: cannot unpack {Values.TypeName(item)} into {loop.Targets.Count} loop variables.");
        for (var i = 0; i < tuple.Count; i++) scope.Set(loop.Targets[i], tuple[i]);
    }

    private void Assign(SetNode set, Scope scope)
    {
        var value = Evaluate(set.Value, scope);
        if (set.Attribute is null)
        {
            scope.Set(set.Name, value);
            return;
        }
        if (scope.Get(set.Name) is not Namespace ns)
            throw new JinjaException($"line {set.Line}: '{set.Name}.{set.Attribute}' can only be set on a namespace().");
        ns.Attributes[set.Attribute] = value;
    }

    private object? Evaluate(Expr expr, Scope scope)
    {
        switch (expr)
        {
            case LiteralExpr literal: return literal.Value;
            case NameExpr name: return scope.Get(name.Name);
            case ListExpr list: return list.Items.Select(i => Evaluate(i, scope)).ToList();
            case DictExpr dict:
                var result = new Dictionary<string, object?>();
                foreach (var (key, value) in dict.Items) result[Values.ToText(Evaluate(key, scope))] = Evaluate(value, scope);
                return result;
            case AttributeExpr attribute: return Member(Evaluate(attribute.Target, scope), attribute.Name, attribute.Line);
            case IndexExpr index: return Index(Evaluate(index.Target, scope), Evaluate(index.Index, scope), index.Line);
            case SliceExpr slice: return Slice(slice, scope);
            case CallExpr call: return Call(call, scope);
            case FilterExpr filter:
                return Builtins.ApplyFilter(filter.Name, Evaluate(filter.Value, scope), filter.Args.Select(a => Evaluate(a, scope)).ToList(),
                    filter.Kwargs.ToDictionary(k => k.Name, k => Evaluate(k.Value, scope)), filter.Line);
            case TestExpr test:
                return Builtins.ApplyTest(test.Name, Evaluate(test.Value, scope), test.Args.Select(a => Evaluate(a, scope)).ToList()) != test.Negated;
            case UnaryExpr { Operator: "not" } not: return !Values.IsTruthy(Evaluate(not.Operand, scope));
            case UnaryExpr negate:
                return Evaluate(negate.Operand, scope) switch
                {
                    long l => (object)(-l),
                    var v => -Values.ToDouble(v),
                };
            case ConditionalExpr conditional:
                return Values.IsTruthy(Evaluate(conditional.Condition, scope))
                    ? Evaluate(conditional.Then, scope)
                    : conditional.Else is null ? Undefined.Instance : Evaluate(conditional.Else, scope);
            case BinaryExpr { Operator: "and" } and:
                var left = Evaluate(and.Left, scope);
                return Values.IsTruthy(left) ? Evaluate(and.Right, scope) : left;
            case BinaryExpr { Operator: "or" } or:
                var first = Evaluate(or.Left, scope);
                return Values.IsTruthy(first) ? first : Evaluate(or.Right, scope);
            case BinaryExpr binary:
                return Operators.Apply(binary.Operator, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope), binary.Line);
            default:
                throw new JinjaException($"line {expr.Line}: cannot evaluate {expr.GetType().Name}.");
        }
    }

    private static object? Member(object? target, string name, int line) => target switch
    {
        Dictionary<string, object?> dict when dict.TryGetValue(name, out var value) => value,
        Namespace ns => ns.Attributes.TryGetValue(name, out var value) ? value : Undefined.Instance,
        _ => (object?)Builtins.Method(target, name, line) ?? Undefined.Instance,
    };

    private static object? Index(object? target, object? index, int line) => (target, index) switch
    {
        (List<object?> list, long i) => i + (i < 0 ? list.Count : 0) is var at && at >= 0 && at < list.Count ? list[(int)at] : Undefined.Instance,
        (string s, long i) => i + (i < 0 ? s.Length : 0) is var at && at >= 0 && at < s.Length ? s[(int)at].ToString() : Undefined.Instance,
        (_, string name) => Member(target, name, line),
        (Undefined, _) => Undefined.Instance,
        _ => throw new JinjaException($"line {line}: cannot index {Values.TypeName(target)} with {Values.TypeName(index)}."),
    };

    private object? Slice(SliceExpr slice, Scope scope)
    {
        var target = Evaluate(slice.Target, scope);
        long? Bound(Expr? e) => e is null ? null : Evaluate(e, scope) is long l ? l : throw new JinjaException($"line {slice.Line}: slice bounds must be integers.");
        var (start, stop, step) = (Bound(slice.Start), Bound(slice.Stop), Bound(slice.Step) ?? 1);
        if (step == 0) throw new JinjaException($"line {slice.Line}: slice step cannot be zero.");
        var items = target switch
        {
            List<object?> list => list,
            string s => s.Select(c => (object?)c.ToString()).ToList(),
            _ => throw new JinjaException($"line {slice.Line}: cannot slice {Values.TypeName(target)}."),
        };
        var picked = PythonSlice(items.Count, start, stop, step).Select(i => items[i]).ToList();
        return target is string ? string.Concat(picked) : picked;
    }

    /// <summary>The indices Python's seq[start:stop:step] visits.</summary>
    private static IEnumerable<int> PythonSlice(int length, long? start, long? stop, long step)
    {
        long Clamp(long? value, long whenNull, long low, long high)
        {
            if (value is not { } v) return whenNull;
            if (v < 0) v += length;
            return Math.Clamp(v, low, high);
        }
        if (step > 0)
        {
            for (var i = Clamp(start, 0, 0, length); i < Clamp(stop, length, 0, length); i += step) yield return (int)i;
        }
        else
        {
            for (var i = Clamp(start, length - 1, -1, length - 1); i > Clamp(stop, -1, -1, length - 1); i += step) yield return (int)i;
        }
    }

    private object? Call(CallExpr call, Scope scope)
    {
        var function = Evaluate(call.Target, scope) as JinjaFunction
                       ?? throw new JinjaException($"line {call.Line}: {Describe(call.Target)} is not callable.");
        var args = call.Args.Select(a => Evaluate(a, scope)).ToList();
        var kwargs = call.Kwargs.ToDictionary(k => k.Name, k => Evaluate(k.Value, scope));
        try
        {
            return function(args, kwargs);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new JinjaException($"line {call.Line}: {Describe(call.Target)} called with too few arguments.");
        }
    }

    private static string Describe(Expr expr) => expr switch
    {
        NameExpr n => $"'{n.Name}'",
        AttributeExpr a => $"'.{a.Name}'",
        _ => "the expression",
    };
}
