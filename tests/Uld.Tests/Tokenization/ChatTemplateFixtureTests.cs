using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Tokenization;

namespace Uld.Tests.Tokenization;

/// <summary>Chat templates from the models' own tokenizer_config.json, against transformers.js's apply_chat_template.</summary>
public sealed class ChatTemplateFixtureTests
{
    public static TheoryData<string> Templates => new() { "llama3", "qwen3" };

    [Theory]
    [MemberData(nameof(Templates))]
    public void Rendered_prompts_are_byte_identical_to_apply_chat_template(string name)
    {
        var template = ChatTemplate.Load(TokenizerFixtures.TokenizerDirectory(name));
        Assert.IsType<JinjaChatTemplate>(template);
        var cases = TokenizerFixtures.Cases($"{name}.chat.json");
        Assert.True(cases.Count >= 16);
        foreach (var c in cases)
        {
            var messages = c!["messages"]!.AsArray().Select(m => (m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
            var variables = c["variables"]?.AsObject().ToDictionary(kv => kv.Key, kv => (object?)kv.Value!.GetValue<bool>());
            var rendered = template.Render(messages, c["add_generation_prompt"]!.GetValue<bool>(), variables);
            Assert.Equal(c["prompt"]!.GetValue<string>(), rendered);
        }
    }

    [Fact]
    public void A_llama3_prompt_carries_one_bos_from_the_template_and_none_from_the_tokenizer()
    {
        var dir = TokenizerFixtures.TokenizerDirectory("llama3");
        var prompt = ChatTemplate.Load(dir).Render([("user", "Hi")]);
        var ids = ModelTokenizer.Load(dir).Encode(prompt, addBos: true);
        Assert.Equal([128000, 128006, 882, 128007, 271, 13347, 128009, 128006, 78191, 128007, 271], ids);
    }

    [Fact]
    public void A_jinja_template_that_writes_bos_gets_no_second_one_from_a_tokenizer_that_adds_bos()
    {
        var dir = TokenizerFixtures.TokenizerDirectory("llama2");
        var tokenizer = ModelTokenizer.Load(dir);
        var config = TokenizerConfig.Load(dir);
        var template = JinjaChatTemplate.Create("{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}", config, "test");
        var ids = tokenizer.Encode(template.Render([("user", "Hi")]), addBos: template.AddsTokenizerBos);
        Assert.Equal(tokenizer.Ids.Bos, ids[0]);
        Assert.Single(ids, id => id == tokenizer.Ids.Bos);
        // The question-answer format writes no BOS itself, so it asks the tokenizer for exactly one.
        var qa = ChatTemplate.QuestionAnswer;
        var qaIds = tokenizer.Encode(qa.Render([("user", "Hi")]), addBos: qa.AddsTokenizerBos);
        Assert.Equal(tokenizer.Ids.Bos, qaIds[0]);
        Assert.Single(qaIds, id => id == tokenizer.Ids.Bos);
    }

    [Fact]
    public void Project_models_keep_their_chat_format_and_its_jinja_twin_renders_the_same()
    {
        var configs = Directory.GetFiles(Path.Combine(SharedPaths.RepositoryRoot, "models"), ModelDirectory.TokenizerConfigFile, SearchOption.AllDirectories);
        Assert.NotEmpty(configs);
        (string, string)[][] conversations =
        [
            [("user", "Who wrote it?")],
            [("system", "Be brief."), ("user", "Who wrote it?"), ("assistant", " Jaime Vasquez."), ("user", "When? ünï 😀")],
        ];
        foreach (var config in configs)
        {
            var format = Assert.IsType<ChatFormat>(ChatTemplate.Load(Path.GetDirectoryName(config)!));
            var jinja = JinjaChatTemplate.Create(JsonNode.Parse(File.ReadAllText(config))!["chat_template"]!.GetValue<string>(), TokenizerConfig.Empty, config);
            foreach (var messages in conversations)
            {
                foreach (var generation in new[] { true, false })
                    Assert.Equal(format.Render(messages, generation), jinja.Render(messages, generation));
            }
            Assert.Equal("Question: Who wrote it?\nAnswer:", format.Render([("user", "Who wrote it?")]));
        }
    }
}
