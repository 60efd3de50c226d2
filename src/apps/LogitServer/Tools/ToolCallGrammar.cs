using System.Text;
using System.Text.Json;
using Uld.Contracts.OpenAi;
using Uld.Inference.Constraints;
using Uld.Tokenization;

namespace Uld.LogitServer.Tools;

/// <summary>
/// The grammar of a forced tool call in the model's own format: Qwen's <c>&lt;tool_call&gt;\n{"name": …, "arguments":
/// …}\n&lt;/tool_call&gt;</c> or Llama 3's <c>{"name": …, "parameters": …}</c>, the name one of the allowed functions
/// and the arguments constrained by that function's <c>parameters</c> schema (docs/DESIGN.md, *Structured output*).
/// </summary>
public static class ToolCallGrammar
{
    public static JsonGrammar For(ToolUse tools)
    {
        var functions = tools.Mode == ToolChoiceMode.Named ? tools.Functions.Where(f => f.Name == tools.Named).ToList() : tools.Functions;
        var argumentsKey = tools.Format == ToolCallFormat.Hermes ? "arguments" : "parameters";
        var calls = functions.Select(f => Call(f, argumentsKey)).ToList();
        var schema = calls.Count == 1 ? calls[0] : new SchemaNode { AnyOf = calls };
        return tools.Format == ToolCallFormat.Hermes
            ? new JsonGrammar(schema, "<tool_call>\n"u8.ToArray(), "\n</tool_call>"u8.ToArray())
            : new JsonGrammar(schema);
    }

    private static SchemaNode Call(ToolFunction function, string argumentsKey)
    {
        SchemaNode arguments;
        try
        {
            arguments = function.Parameters is { } parameters ? JsonSchemaCompiler.Compile(parameters) : new SchemaNode { Types = JsonTypes.Object };
        }
        catch (JsonSchemaException e)
        {
            throw OpenAiException.InvalidRequest($"Invalid parameters of function '{function.Name}': {e.Message}", "tools");
        }
        var name = new SchemaNode { Types = JsonTypes.String, Literals = [Encoding.UTF8.GetBytes(JsonText.String(function.Name))] };
        return new SchemaNode
        {
            Types = JsonTypes.Object,
            Properties = [Property("name", name), Property(argumentsKey, arguments)],
            Required = 0b11,
        };
    }

    private static PropertySchema Property(string name, SchemaNode schema) => new(name, Encoding.UTF8.GetBytes(JsonText.String(name)), schema);
}
