using Uld.Contracts;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Uld.Contracts.Models;

namespace Uld.Tokenization;

/// <summary>
/// How chat messages become a prompt. The model directory stores it in tokenizer_config.json twice: as
/// <c>uld_chat_format</c> (prefix/suffix per role, which trainer, server and evaluation all render with this one
/// class) and as the equivalent Jinja <c>chat_template</c> for Hugging Face tools. A directory without one (e.g. an
/// imported base model) gets <see cref="Raw"/>: contents joined by newlines, no role markers.
/// </summary>
public sealed record ChatTemplate
{
    public const string ConfigKey = "uld_chat_format";

    [JsonPropertyName("system_prefix")] public string SystemPrefix { get; init; } = "";
    [JsonPropertyName("system_suffix")] public string SystemSuffix { get; init; } = "\n";
    [JsonPropertyName("user_prefix")] public string UserPrefix { get; init; } = "";
    [JsonPropertyName("user_suffix")] public string UserSuffix { get; init; } = "\n";
    [JsonPropertyName("assistant_prefix")] public string AssistantPrefix { get; init; } = "";
    [JsonPropertyName("assistant_suffix")] public string AssistantSuffix { get; init; } = "\n";

    public static ChatTemplate Raw { get; } = new();

    /// <summary>Question/answer turns, the format the project trains its TOFU models with.</summary>
    public static ChatTemplate QuestionAnswer { get; } = new()
    {
        UserPrefix = "Question: ", UserSuffix = "\n", AssistantPrefix = "Answer:", AssistantSuffix = "\n",
    };

    /// <summary>The prompt for the next assistant turn; the BOS token is added by the caller's tokenizer call.</summary>
    public string Render(IEnumerable<(string Role, string Content)> messages)
    {
        var prompt = new StringBuilder();
        foreach (var (role, content) in messages)
        {
            var (prefix, suffix) = role switch
            {
                "system" or "developer" => (SystemPrefix, SystemSuffix),
                "user" => (UserPrefix, UserSuffix),
                "assistant" => (AssistantPrefix, AssistantSuffix),
                _ => throw new ArgumentException($"unsupported message role \"{role}\"; use system, developer, user or assistant."),
            };
            prompt.Append(prefix).Append(content).Append(suffix);
        }
        return prompt.Append(AssistantPrefix).ToString();
    }

    /// <summary>The equivalent Jinja template, for tools that read Hugging Face's chat_template.</summary>
    public string ToJinja()
    {
        static string Lit(string s) => JsonSerializer.Serialize(s);
        return "{% for message in messages %}"
               + $"{{% if message['role'] == 'user' %}}{{{{ {Lit(UserPrefix)} + message['content'] + {Lit(UserSuffix)} }}}}"
               + $"{{% elif message['role'] == 'assistant' %}}{{{{ {Lit(AssistantPrefix)} + message['content'] + {Lit(AssistantSuffix)} }}}}"
               + $"{{% else %}}{{{{ {Lit(SystemPrefix)} + message['content'] + {Lit(SystemSuffix)} }}}}{{% endif %}}"
               + "{% endfor %}"
               + $"{{% if add_generation_prompt %}}{{{{ {Lit(AssistantPrefix)} }}}}{{% endif %}}";
    }

    public void WriteTo(JsonObject tokenizerConfig)
    {
        tokenizerConfig[ConfigKey] = JsonSerializer.SerializeToNode(this, Json.Options);
        tokenizerConfig["chat_template"] = ToJinja();
    }

    public static ChatTemplate Load(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, ModelDirectory.TokenizerConfigFile);
        if (!File.Exists(path)) return Raw;
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path))?[ConfigKey];
            return node is null ? Raw : node.Deserialize<ChatTemplate>(Json.Options) ?? Raw;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: invalid {ConfigKey}: {e.Message}");
        }
    }
}
