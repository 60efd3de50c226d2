using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Tokenization;
using Uld.Tokenization.Jinja;

namespace Uld.Tests.Tokenization.Jinja;

/// <summary>The Jinja subset chat templates use, construct by construct, with Python's results.</summary>
public sealed class JinjaTemplateTests
{
    private static string Render(string template, Dictionary<string, object?>? variables = null) =>
        JinjaTemplate.Parse(template).Render(variables ?? []);

    private static List<object?> Items(params object?[] items) => [.. items];

    [Theory]
    [InlineData("{{ 'a' + 'b' ~ 3 }}", "ab3")]
    [InlineData("{{ 7 // 2 }} {{ 7 % 3 }} {{ -7 // 2 }} {{ 1 / 4 }} {{ 2 * 3 - 1 }}", "3 1 -4 0.25 5")]
    [InlineData("{{ 'x' if false else 'y' }}{{ 'z' if true }}", "yz")]
    [InlineData("{{ '  hi \n' | trim }}|{{ 'abc' | length }}|{{ 'abc' | upper }}", "hi|3|ABC")]
    [InlineData("{{ ' a b '.strip() }}|{{ '\n\nx\n'.lstrip('\n') }}|{{ 'x--'.rstrip('-') }}", "a b|x\n|x")]
    [InlineData("{{ 'a</t>b</t>c'.split('</t>')[-1] }}{{ 'a b  c'.split() | length }}", "c3")]
    [InlineData("{{ '<r>x'.startswith('<r>') }} {{ 'x.md'.endswith(('.txt', '.md')) }}", "True True")]
    [InlineData("{{ 'ell' in 'hello' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}", "True True True")]
    [InlineData("{{ [1, 2, 3][::-1] }} {{ 'abcdef'[1:4] }} {{ [1, 2, 3, 4][-2:] }} {{ [1, 2, 3, 4, 5][::2] }}", "[3, 2, 1] bcd [3, 4] [1, 3, 5]")]
    [InlineData("{{ {'a': 'é', 'b': [1, none, true]} | tojson }}", "{\"a\": \"é\", \"b\": [1, null, true]}")]
    [InlineData("{{ x is defined }} {{ x is not defined }} {{ none is none }} {{ 'a' is string }} {{ false is false }}", "False True True True True")]
    [InlineData("{{ undefined_thing }}|{{ undefined_thing.attr }}|{{ undefined_thing | default('d') }}", "||d")]
    [InlineData("{% for i in range(3) %}{{ loop.index0 }}{{ loop.first }}{{ loop.last }},{% endfor %}", "0TrueFalse,1FalseFalse,2FalseTrue,")]
    [InlineData("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;")]
    [InlineData("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{% else %}none{% endfor %}{% for x in [] %}{% else %}empty{% endfor %}", "24empty")]
    [InlineData("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}", "1")]
    [InlineData("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "1")]
    [InlineData("{% set ns = namespace(x=1) %}{% for i in [1] %}{% set ns.x = 2 %}{% endfor %}{{ ns.x }}", "2")]
    [InlineData("{% if 0 %}a{% elif '' %}b{% elif [1] %}c{% else %}d{% endif %}", "c")]
    [InlineData("a  {%- if true -%}  b  {%- endif -%}  c", "abc")]
    [InlineData("{# comment #}x{#- trimmed -#}   y", "xy")]
    [InlineData("  {% if true %}\nline\n  {% endif %}\nend", "line\nend")] // lstrip_blocks and trim_blocks, as in apply_chat_template
    [InlineData("{{ \"q\\\"uote\\n\" }}{{ 'it\\'s' }}", "q\"uote\nit's")]
    public void Renders_like_python_jinja(string template, string expected) => Assert.Equal(expected, Render(template));

    [Fact]
    public void Messages_are_dicts_with_attribute_and_item_access()
    {
        var messages = Items(new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" });
        Assert.Equal("user:hi user", Render("{% for m in messages %}{{ m.role }}:{{ m['content'] }} {{ messages[loop.index0].role }}{% endfor %}",
            new() { ["messages"] = messages }));
    }

    [Theory]
    [InlineData("{% macro f() %}{% endmacro %}", "unsupported tag")]
    [InlineData("{{ x | wordwrap }}", "unsupported filter 'wordwrap'")]
    [InlineData("{{ x is prime }}", "unsupported test 'prime'")]
    [InlineData("{% if x %}never closed", "missing")]
    [InlineData("{{ 'unterminated }}", "unterminated string")]
    public void Unsupported_templates_fail_at_parse_with_one_line(string template, string expected)
    {
        var error = Assert.ThrowsAny<JinjaException>(() => JinjaTemplate.Parse(template));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_chat_template_that_cannot_render_fails_at_load_and_one_that_raises_rejects_the_request()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp["tokenizer_config.json"], """{"chat_template": "{{ messages | map(attribute='content') }}"}""");
        var load = Assert.Throws<ModelFormatException>(() => ChatTemplate.Load(temp.Path));
        Assert.Contains("chat_template is not supported", load.Message);

        File.WriteAllText(temp["tokenizer_config.json"], """{"chat_template": "{{ unknown_function() }}"}""");
        Assert.Contains("'unknown_function' is not callable", Assert.Throws<ModelFormatException>(() => ChatTemplate.Load(temp.Path)).Message);

        File.WriteAllText(temp["tokenizer_config.json"],
            """{"chat_template": "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}"}""");
        var template = ChatTemplate.Load(temp.Path);
        Assert.Equal("hi", template.Render([("user", "hi")]));
        Assert.Contains("System role not supported", Assert.Throws<ArgumentException>(() => template.Render([("system", "s"), ("user", "hi")])).Message);
    }
}
