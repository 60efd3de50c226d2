using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Admission;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Admission;

/// <summary>The admission step on its own: what it admits, and which field it names when it refuses.</summary>
[Collection(ServerCollection.Name)]
public sealed class AdmissionTests(ServerFixture fixture)
{
    private RequestAdmission Admission => fixture.Server.App.Services.GetRequiredService<RequestAdmission>();

    private static HttpRequest Body(string json)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        return context.Request;
    }

    [Fact]
    public async Task A_chat_request_is_resolved_rendered_and_tokenized_once()
    {
        var admitted = await Admission.AdmitChatAsync(Body("""
            {"model":"stories-uld","messages":[{"role":"user","content":"Once upon a time"}],"n":2,"max_tokens":7,
             "temperature":0.5,"seed":3,"stop":"Lily","stream":true,"stream_options":{"include_usage":true},"uld_alpha":1.5}
            """), default);

        var deployment = admitted.Deployment;
        Assert.Equal("stories-uld", admitted.Model);
        Assert.Same(deployment, admitted.Scheduler.Deployment);
        Assert.Equal(deployment.Tokenizer.Encode(deployment.ChatTemplate.Render([("user", "Once upon a time")]), addBos: true), admitted.Prompt);
        Assert.Equal((2, 7, 0.5, 3L, 1.5, 0.1), (admitted.N, admitted.MaxTokens, admitted.Sampling.Sampler.Temperature, admitted.Sampling.Sampler.Seed!.Value,
            admitted.Sampling.Alpha, admitted.Sampling.RelativeTop));
        Assert.Equal(["Lily"], admitted.Stop);
        Assert.True(admitted.Stream && admitted.IncludeUsage);
        Assert.Null(admitted.ContextToken);
    }

    [Fact]
    public async Task A_token_prompt_is_used_as_given_and_continued_from_its_last_token()
    {
        var admitted = await Admission.AdmitCompletionAsync(Body("""{"model":"stories","prompt":[1,403,407],"echo":true,"logprobs":2,"max_tokens":0}"""), default);
        Assert.Equal([1, 403, 407], admitted.Prompt);
        Assert.Equal(407, admitted.ContextToken);
        Assert.Equal((0, true, true, 2), (admitted.MaxTokens, admitted.Echo, admitted.Logprobs, admitted.Sampling.TopLogprobs));
        Assert.Null(admitted.ReportedAlpha); // a plain deployment has no α
    }

    [Theory]
    [InlineData("\"uld_alpha\":1.0,\"uld_alpha\":0.1", "uld_alpha")]              // duplicate key: last-one-wins would bypass a proxy's check
    [InlineData("\"uld_alpha\":\"0.1\"", "uld_alpha")]                          // a number as a string
    [InlineData("\"uld_alpha\":\"1.0\"", "uld_alpha")]                          // even a valid one
    [InlineData("\"uld_alpha\":NaN", "uld_alpha")]
    [InlineData("\"uld_alpha\":\"NaN\"", "uld_alpha")]
    [InlineData("\"uld_alpha\":-Infinity", "uld_alpha")]
    [InlineData("\"uld_alpha\":\"-Infinity\"", "uld_alpha")]
    [InlineData("\"uld_alpha\":1e999", "uld_alpha")]                            // parses to +∞
    [InlineData("\"uld_alpha\":0.49", "uld_alpha")]                             // below AlphaMin 0.5
    [InlineData("\"uld_alpha\":2.01", "uld_alpha")]
    [InlineData("\"uld_relative_top\":1.5", "uld_relative_top")]
    [InlineData("\"extra_body\":{\"uld_alpha\":0}", "extra_body.uld_alpha")]    // nested: must not silently do nothing
    [InlineData("\"metadata\":[{\"ULD_ALPHA\":0}]", "metadata[0].ULD_ALPHA")]
    [InlineData("\"uld_alhpa\":0", "uld_alhpa")]
    [InlineData("\"temperature\":1e999", "temperature")]
    [InlineData("\"temperature\":\"0\"", "temperature")]
    [InlineData("\"n\":\"2\"", "n")]
    [InlineData("\"n\":2.5", "n")]
    [InlineData("\"max_tokens\":\"5\"", "max_tokens")]
    [InlineData("\"stream_options\":{\"include_usage\":true,\"include_usage\":false}", "stream_options.include_usage")]
    [InlineData("\"model\":\"stories\"", "model")]                                // duplicate model: which α policy applies?
    public async Task Refusals_name_the_field(string fields, string param)
    {
        var json = $$"""{"model":"stories-uld","messages":[{"role":"user","content":"hi"}],{{fields}}}""";
        var chat = await Assert.ThrowsAsync<OpenAiException>(() => Admission.AdmitChatAsync(Body(json), default));
        Assert.Equal((400, param), (chat.Status, chat.Param));

        var completion = await Assert.ThrowsAsync<OpenAiException>(() =>
            Admission.AdmitCompletionAsync(Body(json.Replace("\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]", "\"prompt\":\"hi\"")), default));
        Assert.Equal((400, param), (completion.Status, completion.Param));
    }

    [Fact]
    public async Task Alpha_on_a_plain_deployment_and_unknown_models_are_refused()
    {
        var plain = await Assert.ThrowsAsync<OpenAiException>(() => Admission.AdmitChatAsync(Body("""
            {"model":"stories","messages":[{"role":"user","content":"hi"}],"uld_alpha":1}
            """), default));
        Assert.Equal((400, "uld_alpha"), (plain.Status, plain.Param));
        var unknown = await Assert.ThrowsAsync<OpenAiException>(() => Admission.AdmitCompletionAsync(Body("""{"model":"nope","prompt":"hi"}"""), default));
        Assert.Equal((404, "model"), (unknown.Status, unknown.Param));
    }
}
