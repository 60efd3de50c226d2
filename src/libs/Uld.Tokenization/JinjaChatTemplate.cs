using Uld.Contracts.Models;
using Uld.Tokenization.Jinja;

namespace Uld.Tokenization;

/// <summary>
/// A model's own Jinja chat_template, rendered as transformers' apply_chat_template does: variables messages
/// (role/content dicts), add_generation_prompt, tools and documents (none), the special tokens named in
/// tokenizer_config.json (bos_token, eos_token, ...), plus any extra variables the caller passes.
/// </summary>
public sealed class JinjaChatTemplate : ChatTemplate
{
    private static readonly string[] SpecialTokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    private readonly JinjaTemplate _template;
    private readonly IReadOnlyDictionary<string, object?> _specialTokens;
    private readonly ToolCallFormat _toolCalls;

    public override bool AddsTokenizerBos => false;

    public override ToolCallFormat ToolCalls => _toolCalls;

    private JinjaChatTemplate(JinjaTemplate template, IReadOnlyDictionary<string, object?> specialTokens, ToolCallFormat toolCalls) =>
        (_template, _specialTokens, _toolCalls) = (template, specialTokens, toolCalls);

    /// <summary>
    /// A template that reads the <c>tools</c> variable takes tools; one that shows the model &lt;tool_call&gt; tags
    /// (Qwen, Hermes) wants its calls in them, any other (Llama 3.x) as a bare JSON object.
    /// </summary>
    private static ToolCallFormat DetectToolCalls(string source) =>
        !System.Text.RegularExpressions.Regex.IsMatch(source, @"\btools\b") ? ToolCallFormat.None
        : source.Contains("<tool_call>", StringComparison.Ordinal) ? ToolCallFormat.Hermes
        : ToolCallFormat.LlamaJson;

    /// <summary>Parses the template and renders a sample conversation once, so an unsupported template fails here, with one line.</summary>
    /// <exception cref="ModelFormatException">The template uses Jinja outside the supported subset.</exception>
    public static JinjaChatTemplate Create(string source, TokenizerConfig config, string origin)
    {
        var specialTokens = SpecialTokenNames
            .Select(name => (name, value: config.SpecialToken(name)))
            .Where(t => !string.IsNullOrEmpty(t.value))
            .ToDictionary(t => t.name, t => (object?)t.value);
        try
        {
            var template = new JinjaChatTemplate(JinjaTemplate.Parse(source), specialTokens, DetectToolCalls(source));
            template.CheckRenders();
            return template;
        }
        catch (JinjaException e) when (e is not TemplateRaisedException)
        {
            throw new ModelFormatException($"{origin}: chat_template is not supported: {e.Message}");
        }
    }

    public override string Render(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? variables = null)
    {
        try
        {
            return RenderOrThrow(messages, addGenerationPrompt, variables);
        }
        catch (JinjaException e)
        {
            throw new ArgumentException($"the model's chat template cannot render these messages: {e.Message}", e);
        }
    }

    public override string RenderConversation(IReadOnlyList<Dictionary<string, object?>> messages, IReadOnlyList<object?>? tools, bool addGenerationPrompt = true)
    {
        if (tools is not null && _toolCalls == ToolCallFormat.None) throw new ArgumentException("this model's chat template does not take tools.");
        try
        {
            return RenderOrThrow(messages.Select(m => (object?)m).ToList(), tools?.ToList(), addGenerationPrompt, null);
        }
        catch (JinjaException e)
        {
            throw new ArgumentException($"the model's chat template cannot render these messages: {e.Message}", e);
        }
    }

    private string RenderOrThrow(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables) =>
        RenderOrThrow(messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(), null, addGenerationPrompt, variables);

    private string RenderOrThrow(List<object?> messages, List<object?>? tools, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables)
    {
        var scope = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["tools"] = tools,
            ["documents"] = null,
        };
        foreach (var (name, value) in _specialTokens) scope[name] = value;
        foreach (var (name, value) in variables ?? new Dictionary<string, object?>()) scope[name] = value;
        return _template.Render(scope);
    }

    /// <summary>
    /// Unsupported constructs that parse (an unknown function, a method on the wrong type) only show when rendered.
    /// A template may reject a system turn or a given order through raise_exception: that is its rule, not a failure.
    /// </summary>
    private void CheckRenders()
    {
        (string, string)[][] samples =
        [
            [("system", "s"), ("user", "u"), ("assistant", "a"), ("user", "u")],
            [("user", "u"), ("assistant", "a"), ("user", "u")],
        ];
        foreach (var sample in samples)
        {
            try
            {
                RenderOrThrow(sample, addGenerationPrompt: true, null);
                RenderOrThrow(sample[..^1], addGenerationPrompt: false, null);
                return;
            }
            catch (TemplateRaisedException)
            {
                // try the next sample
            }
        }
    }
}
