using System.Text;
using System.Text.Json;
using Uld.Inference.Constraints;

namespace Uld.Tests.Inference.Constraints;

/// <summary>The JSON automaton on its own: which texts a schema's grammar accepts, and which schemas compile.</summary>
public sealed class JsonGrammarTests
{
    private static JsonGrammar Grammar(string schema) => new(JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement));

    private static bool Accepts(JsonGrammar grammar, string text) => grammar.Start().Accepts(Encoding.UTF8.GetBytes(text));

    /// <summary>Could still become valid: a prefix the automaton keeps.</summary>
    private static bool Continues(JsonGrammar grammar, string text) => grammar.Start().Step(Encoding.UTF8.GetBytes(text)) is not null;

    public static TheoryData<string, string, bool> Texts => new()
    {
        // json_object: any object, nothing else.
        { "json_object", """{"a": [1, -2.5e3, true, null, {"b": "c\u00e9\n"}], "d": {}}""", true },
        { "json_object", "{}", true },
        { "json_object", " \n{ }", true },
        { "json_object", "[1]", false },
        { "json_object", "\"s\"", false },
        { "json_object", """{"a": 1,}""", false },
        { "json_object", """{"a": 1, "a": 2}""", false },
        { "json_object", """{"a": 01}""", false },
        { "json_object", """{"a": 1.}""", false },
        { "json_object", """{"a": "tab	raw"}""", false },
        { "json_object", """{"a": "\ud800"}""", false },
        { "json_object", """{"a": "\q"}""", false },
        { "json_object", "{} ", false },
        { "json_object", """{"a": tru}""", false },
        // Declared properties, required, additionalProperties false.
        { """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""", """{"name": "Ann", "age": 31}""", true },
        { """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""", """{"age":31,"name":"Ann"}""", true },
        { """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""", """{"name": "Ann"}""", false },
        { """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""", """{"name": "Ann", "age": 31.5}""", false },
        { """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""", """{"name": "Ann", "age": 31, "x": 1}""", false },
        { """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""", """{"name": "A", "name": "B", "age": 1}""", false },
        { """{"type":"object","properties":{"a":{"type":"boolean"}}}""", "{}", true },
        // Enums, const, type lists, anyOf.
        { """{"enum":["red","green",1,12,null]}""", "\"green\"", true },
        { """{"enum":["red","green",1,12,null]}""", "12", true },
        { """{"enum":["red","green",1,12,null]}""", "1", true },
        { """{"enum":["red","green",1,12,null]}""", "123", false },
        { """{"enum":["red","green",1,12,null]}""", "\"blue\"", false },
        { """{"const":"x"}""", "\"x\"", true },
        { """{"type":["string","null"]}""", "null", true },
        { """{"type":["string","null"]}""", "\"\"", true },
        { """{"type":["string","null"]}""", "0", false },
        { """{"anyOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false},{"type":"object","properties":{"b":{"type":"string"}},"required":["b"],"additionalProperties":false}]}""", """{"b": "x"}""", true },
        { """{"anyOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false},{"type":"object","properties":{"b":{"type":"string"}},"required":["b"],"additionalProperties":false}]}""", """{"a": 2}""", true },
        { """{"anyOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false},{"type":"object","properties":{"b":{"type":"string"}},"required":["b"],"additionalProperties":false}]}""", """{"a": "x"}""", false },
        // Arrays and string lengths.
        { """{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":2}""", "[1, 2]", true },
        { """{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":2}""", "[]", false },
        { """{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":2}""", "[1,2,3]", false },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"é\\n\"", true },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"abcd\"", false },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"a\"", false },
        // maxLength in UTF-16 code units (zod's count), minLength in code points (JSON Schema's): both accept the text.
        { """{"type":"string","maxLength":2}""", "\"😀\"", true },
        { """{"type":"string","maxLength":2}""", "\"a😀\"", false },
        { """{"type":"string","minLength":2}""", "\"😀\"", false },
        { """{"type":"string","minLength":2}""", "\"😀é\"", true },
        { """{"type":"integer"}""", "-0", true },
        { """{"type":"integer"}""", "1e3", false },
        { """{"type":"number"}""", "-0.5E+10", true },
        { """{"type":"number"}""", "1234567890123456", false },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void The_automaton_accepts_exactly_the_valid_texts(string schema, string text, bool valid)
    {
        var grammar = schema == "json_object" ? JsonGrammar.AnyObject : Grammar(schema);
        Assert.Equal(valid, Accepts(grammar, text));
        if (valid) JsonDocument.Parse(text).Dispose(); // the premise: what it accepts is JSON
    }

    [Fact]
    public void Prefixes_of_valid_texts_continue_and_the_first_wrong_byte_stops_them()
    {
        var grammar = Grammar("""{"type":"object","properties":{"tags":{"type":"array","items":{"enum":["a","bc"]}}},"required":["tags"],"additionalProperties":false}""");
        const string text = """{"tags": ["bc", "a"]}""";
        for (var i = 0; i <= text.Length; i++) Assert.True(Continues(grammar, text[..i]), text[..i]);
        Assert.False(Continues(grammar, """{"tags": ["b" """));
        Assert.False(Continues(grammar, """{"tag" """));
        Assert.False(Continues(grammar, """{"tags": ["a"], """)); // no property left to write
    }

    [Fact]
    public void A_complete_text_allows_only_the_end_and_numbers_may_end_or_go_on()
    {
        var number = JsonGrammar.AnyObject.Start().Step("{\"n\": 12"u8)!;
        Assert.True(number.CanContinue);
        Assert.False(number.IsComplete);
        Assert.NotNull(number.Step((byte)'3'));
        Assert.NotNull(number.Step((byte)'}'));
        var done = number.Step((byte)'}')!;
        Assert.True(done.IsComplete);
        Assert.False(done.CanContinue);
        Assert.Null(done.Step((byte)' '));
    }

    [Fact]
    public void Prefix_and_suffix_text_wrap_the_value()
    {
        var grammar = new JsonGrammar(SchemaNode.AnyObject, "<tool_call>\n"u8.ToArray(), "\n</tool_call>"u8.ToArray());
        Assert.True(Accepts(grammar, "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"));
        Assert.False(Accepts(grammar, "<tool_call>\n{\"name\": \"f\"}"));
        Assert.False(Accepts(grammar, "{\"name\": \"f\"}\n</tool_call>"));
    }

    public static TheoryData<string, string> Unsupported => new()
    {
        { """{"type":"string","pattern":"^a+$"}""", "pattern" },
        { """{"type":"string","format":"email"}""", "format" },
        { """{"type":"number","minimum":0}""", "minimum" },
        { """{"oneOf":[{"type":"string"}]}""", "oneOf" },
        { """{"$ref":"#/$defs/a","$defs":{"a":{"type":"string"}}}""", "$ref" },
        { """{"type":"object","properties":{"a":{"type":"object","patternProperties":{"x":{}}}}}""", "patternProperties" },
        { """{"type":"object","additionalProperties":{"type":"string"}}""", "additionalProperties" },
        { """{"type":"strin"}""", "type" },
        { """{"type":"array","minItems":3,"maxItems":2}""", "minItems" },
        { """{"type":"object","properties":{},"required":["a"],"additionalProperties":false}""", "required" },
        { """{"type":"integer","enum":["a"]}""", "enum" },
        { """{"type":"string","anyOf":[{"maxLength":2}]}""", "type" },
        { "{\"anyOf\":[" + string.Join(",", Enumerable.Repeat("{\"type\":\"string\"}", 33)) + "]}", "anyOf" },
        { "{\"enum\":[" + string.Join(",", Enumerable.Range(0, 1025)) + "]}", "enum" },
        { "{\"type\":\"object\",\"properties\":{" + string.Join(",", Enumerable.Range(0, 50).Select(i => $"\"p{i}\":{{\"anyOf\":[" + string.Join(",", Enumerable.Repeat("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}", 32)) + "]}")) + "}}", "properties" },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void A_schema_outside_the_supported_subset_is_refused_naming_the_keyword(string schema, string keyword)
    {
        var error = Assert.Throws<JsonSchemaException>(() => JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement));
        Assert.Equal(keyword, error.Keyword);
        Assert.Contains(keyword, error.Message);
    }

    [Fact]
    public void A_nested_unsupported_keyword_is_named_with_where_it_is()
    {
        var error = Assert.Throws<JsonSchemaException>(() => JsonSchemaCompiler.Compile(JsonDocument.Parse(
            """{"type":"object","properties":{"user":{"type":"object","properties":{"email":{"type":"string","format":"email"}}}}}""").RootElement));
        Assert.Equal("format", error.Keyword);
        Assert.Contains("properties.user.properties.email", error.Message);
    }
}
