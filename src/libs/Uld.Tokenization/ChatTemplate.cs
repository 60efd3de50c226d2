using Uld.Contracts.Models;
using Uld.Tokenization.Jinja;

namespace Uld.Tokenization;

/// <summary>
/// How chat messages become a prompt. A model directory's tokenizer_config.json decides: the project's own models
/// carry <c>uld_chat_format</c> (<see cref="ChatFormat"/>, prefix/suffix per role, rendered directly); other models
/// carry Hugging Face's Jinja <c>chat_template</c> (<see cref="JinjaChatTemplate"/>, rendered byte-identically to
/// apply_chat_template); a directory with neither (e.g. an imported base model) gets <see cref="Raw"/>.
/// </summary>
public abstract class ChatTemplate
{
    public static ChatFormat Raw => ChatFormat.Raw;

    /// <summary>Question/answer turns, the format the project trains its TOFU models with.</summary>
    public static ChatFormat QuestionAnswer => ChatFormat.QuestionAnswer;

    /// <summary>
    /// Whether the tokenizer's BOS rule applies when encoding a rendering. Jinja templates write <c>bos_token</c>
    /// themselves where the model wants it, so Hugging Face encodes them without special tokens; the project's
    /// prefix/suffix formats leave BOS to the tokenizer.
    /// </summary>
    public virtual bool AddsTokenizerBos => true;

    /// <summary>The prompt for the next assistant turn; the BOS token, if the tokenizer adds one, is the tokenizer's business.</summary>
    public string Render(IEnumerable<(string Role, string Content)> messages) => Render(messages, addGenerationPrompt: true);

    /// <summary>
    /// The conversation as prompt text; <paramref name="addGenerationPrompt"/> appends the opening of an assistant turn.
    /// <paramref name="variables"/> are extra template variables (e.g. Qwen3's enable_thinking).
    /// </summary>
    /// <exception cref="ArgumentException">The messages are not acceptable to this template (unknown role, or the template raised).</exception>
    public abstract string Render(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? variables = null);

    /// <summary>Whether and how this template lets the model call tools (<see cref="RenderConversation"/> with tools).</summary>
    public virtual ToolCallFormat ToolCalls => ToolCallFormat.None;

    /// <summary>
    /// The conversation as OpenAI messages — dictionaries of template values with <c>role</c>, <c>content</c> and,
    /// for tool use, <c>tool_calls</c>, <c>tool_call_id</c>, <c>name</c> — with the request's <paramref name="tools"/>
    /// (null: none), as apply_chat_template(messages, tools=tools) renders it. A template without tool support renders
    /// plain role/content turns only.
    /// </summary>
    /// <exception cref="ArgumentException">The template cannot render these messages or tools.</exception>
    public virtual string RenderConversation(IReadOnlyList<Dictionary<string, object?>> messages, IReadOnlyList<object?>? tools, bool addGenerationPrompt = true)
    {
        if (tools is not null) throw new ArgumentException("this model's chat template does not take tools.");
        return Render(messages.Select((m, i) =>
        {
            if (m.TryGetValue("tool_calls", out var calls) && calls is List<object?> { Count: > 0 } || m.GetValueOrDefault("role") as string == "tool")
                throw new ArgumentException($"messages[{i}]: this model's chat template has no tool calls or tool results.");
            return (m.GetValueOrDefault("role") as string ?? "", m.GetValueOrDefault("content") as string ?? "");
        }).ToList(), addGenerationPrompt);
    }

    /// <exception cref="ModelFormatException">tokenizer_config.json is invalid, or its chat_template uses Jinja this renderer does not support.</exception>
    public static ChatTemplate Load(string modelDirectory)
    {
        var config = TokenizerConfig.Load(modelDirectory);
        var source = Path.Combine(modelDirectory, ModelDirectory.TokenizerConfigFile);
        if (config[ChatFormat.ConfigKey] is { } format) return ChatFormat.FromJson(format, source);
        return config.ChatTemplate is { } template ? JinjaChatTemplate.Create(template, config, source) : Raw;
    }
}
