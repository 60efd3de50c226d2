namespace Uld.Tokenization;

/// <summary>How a model's chat template asks it to write a tool call, read off the template itself.</summary>
public enum ToolCallFormat
{
    /// <summary>The template takes no tools.</summary>
    None,

    /// <summary>Qwen / Hermes: <c>&lt;tool_call&gt;\n{"name": …, "arguments": {…}}\n&lt;/tool_call&gt;</c>, one block per call.</summary>
    Hermes,

    /// <summary>Llama 3.x JSON tool calls: the whole answer is <c>{"name": …, "parameters": {…}}</c>.</summary>
    LlamaJson,
}
