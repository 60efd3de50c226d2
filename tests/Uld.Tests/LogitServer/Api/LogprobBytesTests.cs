using Uld.LogitServer.Api;
using Uld.LogitServer.Engine;
using Uld.Tests.Support;
using Uld.Tokenization;

namespace Uld.Tests.LogitServer.Api;

/// <summary>Logprobs' <c>bytes</c> are each token's raw bytes, so a character split over byte-fallback tokens can be rebuilt.</summary>
public sealed class LogprobBytesTests
{
    [Fact]
    public void A_byte_fallback_token_reports_its_byte_not_the_replacement_character()
    {
        var tokenizer = ModelTokenizer.Load(Stories260KModels.BaseDirectory);
        // "æ" is U+00E6 = UTF-8 C3 A6; stories260K's 512 pieces have no such piece, so it is spelt with byte tokens.
        var ids = tokenizer.Encode("æ", addBos: false).Where(id => tokenizer.TokenBytes(id).Length == 1 && tokenizer.TokenBytes(id)[0] >= 0x80).ToList();
        Assert.Equal(2, ids.Count);
        var logprobs = ids.Select(id => LogprobFormat.Chat(tokenizer, new TokenEvent(id, -0.5f, [(id, -0.5f)]))).ToList();
        Assert.Equal([[0xC3], [0xA6]], logprobs.Select(l => l.Bytes));
        Assert.Equal([[0xC3], [0xA6]], logprobs.Select(l => Assert.Single(l.TopLogprobs).Bytes));
        Assert.Equal("æ", System.Text.Encoding.UTF8.GetString(logprobs.SelectMany(l => l.Bytes).Select(b => (byte)b).ToArray()));
        Assert.Equal("\uFFFD", logprobs[0].Token); // the text alone cannot carry half a character
    }
}
