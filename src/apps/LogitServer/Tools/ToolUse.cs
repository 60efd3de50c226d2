using System.Text.Json;
using System.Text.RegularExpressions;
using Uld.Contracts.OpenAi;
using Uld.Tokenization;

namespace Uld.LogitServer.Tools;

public enum ToolChoiceMode
{
    /// <summary>No call: the tools are left out of the prompt.</summary>
    None,
    /// <summary>The model decides; a call in its answer is returned as tool_calls.</summary>
    Auto,
    /// <summary>The answer is a call of one of the tools, decoded under its grammar.</summary>
    Required,
    /// <summary>The answer is a call of the named tool, decoded under its grammar.</summary>
    Named,
}

/// <summary>A function the client offers: its name and JSON Schema <c>parameters</c> (null: takes none).</summary>
public sealed record ToolFunction(string Name, JsonElement? Parameters);

/// <summary>
/// A chat request's <c>tools</c> and <c>tool_choice</c>, checked as OpenAI checks them, against what the
/// deployment's chat template can do: tools for a template that takes none are a 400 naming <c>tools</c>.
/// </summary>
public sealed partial record ToolUse(IReadOnlyList<object?> TemplateTools, IReadOnlyList<ToolFunction> Functions, ToolChoiceMode Mode, string? Named,
    ToolCallFormat Format)
{
    /// <summary>The prompt shows the tools and the answer is read for calls.</summary>
    public bool Active => Mode != ToolChoiceMode.None;

    /// <summary>The answer must be a call (decoded under <see cref="ToolCallGrammar"/>).</summary>
    public bool Forced => Mode is ToolChoiceMode.Required or ToolChoiceMode.Named;

    /// <summary>Null when the request has no tools (or an empty list).</summary>
    public static ToolUse? Read(JsonElement? tools, JsonElement? toolChoice, ChatTemplate template)
    {
        var functions = ReadFunctions(tools);
        var (mode, named) = Choice(toolChoice, functions);
        if (functions.Count == 0)
        {
            if (mode is ToolChoiceMode.Required or ToolChoiceMode.Named)
                throw OpenAiException.InvalidRequest("'tool_choice' requires 'tools' to name at least one function.", "tool_choice");
            return null;
        }
        if (mode != ToolChoiceMode.None && template.ToolCalls == ToolCallFormat.None)
            throw OpenAiException.InvalidRequest("This model's chat template does not take tools, so it cannot be given 'tools'.", "tools");
        var templateTools = tools!.Value.EnumerateArray().Select(TemplateValues.From).ToList();
        return new ToolUse(templateTools, functions, mode, named, template.ToolCalls);
    }

    private static List<ToolFunction> ReadFunctions(JsonElement? tools)
    {
        if (tools is not { } list || list.ValueKind == JsonValueKind.Null) return [];
        if (list.ValueKind != JsonValueKind.Array) throw Invalid("tools", "'tools' must be an array of function tools.");
        var functions = new List<ToolFunction>();
        var index = 0;
        foreach (var tool in list.EnumerateArray())
        {
            var at = $"tools[{index++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.GetString() != "function")
                throw Invalid(at, $"Invalid '{at}': only tools of type 'function' are supported.");
            if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw Invalid(at, $"Missing required parameter: '{at}.function'.");
            if (!function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !NamePattern().IsMatch(name.GetString()!))
                throw Invalid(at, $"Invalid '{at}.function.name': a name of 1 to 64 letters, digits, underscores or dashes is required.");
            JsonElement? parameters = function.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null ? p : null;
            if (parameters is { ValueKind: not JsonValueKind.Object }) throw Invalid(at, $"Invalid '{at}.function.parameters': expected a JSON Schema object.");
            if (functions.Any(f => f.Name == name.GetString())) throw Invalid(at, $"Invalid '{at}.function.name': '{name.GetString()}' is given twice.");
            functions.Add(new ToolFunction(name.GetString()!, parameters));
        }
        return functions;
    }

    private static (ToolChoiceMode, string?) Choice(JsonElement? choice, List<ToolFunction> functions)
    {
        if (choice is not { } value || value.ValueKind == JsonValueKind.Null) return (ToolChoiceMode.Auto, null);
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString() switch
            {
                "none" => (ToolChoiceMode.None, null),
                "auto" => (ToolChoiceMode.Auto, null),
                "required" => (ToolChoiceMode.Required, null),
                var other => throw Invalid("tool_choice", $"Invalid value for 'tool_choice': '{other}'. Use 'none', 'auto', 'required' or a function."),
            };
        }
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("type", out var type) && type.GetString() == "function"
            && value.TryGetProperty("function", out var function) && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            if (functions.Count > 0 && functions.All(f => f.Name != name.GetString()))
                throw Invalid("tool_choice", $"Invalid 'tool_choice': no function named '{name.GetString()}' is in 'tools'.");
            return (ToolChoiceMode.Named, name.GetString());
        }
        throw Invalid("tool_choice", "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}.");
    }

    private static OpenAiException Invalid(string param, string message) => OpenAiException.InvalidRequest(message, param.Split('[')[0]);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
