using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Uld.Contracts;
using Uld.Contracts.Models;

namespace Uld.Tokenization;

/// <summary>
/// The project's own chat format: a prefix and a suffix per role, stored in tokenizer_config.json as
/// <c>uld_chat_format</c> next to the equivalent Jinja <c>chat_template</c> for Hugging Face tools (<see cref="ToJinja"/>;
/// a test renders both and compares).
/// </summary>
public sealed class ChatFormat : ChatTemplate
{
    public const string ConfigKey = "uld_chat_format";

    [JsonPropertyName("system_prefix")] public string SystemPrefix { get; init; } = "";
    [JsonPropertyName("system_suffix")] public string SystemSuffix { get; init; } = "\n";
    [JsonPropertyName("user_prefix")] public string UserPrefix { get; init; } = "";
    [JsonPropertyName("user_suffix")] public string UserSuffix { get; init; } = "\n";
    [JsonPropertyName("assistant_prefix")] public string AssistantPrefix { get; init; } = "";
    [JsonPropertyName("assistant_suffix")] public string AssistantSuffix { get; init; } = "\n";

    /// <summary>Contents joined by newlines, no role markers.</summary>
    public static new ChatFormat Raw { get; } = new();

    public static new ChatFormat QuestionAnswer { get; } = new()
    {
        UserPrefix = "Question: ", UserSuffix = "\n", AssistantPrefix = "Answer:", AssistantSuffix = "\n",
    };

    public override string Render(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? variables = null)
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
        return addGenerationPrompt ? prompt.Append(AssistantPrefix).ToString() : prompt.ToString();
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

    public static ChatFormat FromJson(JsonNode node, string source)
    {
        try
        {
            return node.Deserialize<ChatFormat>(Json.Options) ?? Raw;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{source}: invalid {ConfigKey}: {e.Message}");
        }
    }
}
