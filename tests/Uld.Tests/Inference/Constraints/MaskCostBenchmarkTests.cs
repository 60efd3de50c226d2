using System.Diagnostics;
using System.Text.Json;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Inference.Constraints;
using Uld.Inference.Sampling;
using Uld.LogitServer.StructuredOutput;
using Uld.Tests.Support;
using Uld.Tokenization;
using Xunit.Abstractions;

namespace Uld.Tests.Inference.Constraints;

/// <summary>
/// What structured output costs per generated token at a 128K vocabulary (docs/DESIGN.md, *Structured output*): the
/// mask of every step of answers to the test schemas, each request with its own mask cache as the server has it,
/// against one decode step of the random-weight Llama-3-vocabulary model (2 layers, hidden 64: its step is mostly
/// the 128K-row output layer, so this ratio is far above what a real model's step gives).
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class MaskCostBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void The_per_step_mask_costs_a_fraction_of_a_decode_step()
    {
        var directory = ModelDirectory.Open(RandomChatModels.Llama3);
        var tokenizer = ModelTokenizer.Load(directory.Root);
        var vocabulary = ConstraintVocabularies.For(tokenizer);
        var eos = directory.Generation.EosTokenId!.Value;

        // Decode step: generating 65 tokens minus generating 1 leaves 64 decode steps (same prompt, same prefill).
        using var session = new OnnxCausalLm(directory.OnnxPath);
        var prompt = tokenizer.Encode("Answer in JSON.", addBos: true);
        GreedyDecoder.Generate(session, prompt, 8); // warm-up
        var one = Stopwatch.StartNew();
        GreedyDecoder.Generate(session, prompt, 1);
        one.Stop();
        var many = Stopwatch.StartNew();
        GreedyDecoder.Generate(session, prompt, 65);
        many.Stop();
        var decodeStep = (many.Elapsed - one.Elapsed).TotalMilliseconds / 64;

        var times = new List<double>();
        var random = new Random(26);
        var scores = new float[session.Vocab];
        var first = Stopwatch.StartNew();
        vocabulary.AllowedTokens(JsonGrammar.AnyObject.Start().Step("{\"a\": \""u8)!); // once per vocabulary: the in-string mask (and the JIT)
        first.Stop();
        foreach (var (_, schema) in StructuredOutputSchemas.All)
        {
            var grammar = new JsonGrammar(JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement));
            for (var sample = 0; sample < 3; sample++)
            {
                var constraint = new JsonTokenConstraint(grammar, new TokenMaskCache(vocabulary), eos);
                for (var step = 0; step < 600; step++)
                {
                    Array.Clear(scores);
                    var watch = Stopwatch.StartNew();
                    Assert.True(constraint.Mask(scores));
                    times.Add(watch.Elapsed.TotalMilliseconds);
                    var allowed = Enumerable.Range(0, scores.Length).Where(v => !float.IsNegativeInfinity(scores[v])).ToList();
                    var token = allowed.Contains(eos) && random.Next(2) == 0 ? eos : allowed[random.Next(allowed.Count)];
                    constraint.Advance(token);
                    if (token == eos) break;
                }
            }
        }
        times.Sort();
        var mean = times.Average();
        output.WriteLine(FormattableString.Invariant(
            $"vocabulary {vocabulary.Size} tokens, {vocabulary.TrieNodes} trie nodes; first in-string mask {first.Elapsed.TotalMilliseconds:F1} ms (once per vocabulary); {times.Count} masked steps: mean {mean:F3} ms, median {times[times.Count / 2]:F3} ms, p95 {times[(int)(times.Count * 0.95)]:F3} ms, max {times[^1]:F3} ms; decode step of the 2-layer random model {decodeStep:F3} ms; mean mask / decode step = {mean / decodeStep:P1}"));
        // The bar is 10 % of a real model's step; on this toy model's step the mask must at least not dominate.
        Assert.True(mean < decodeStep, $"mask {mean:F3} ms vs decode step {decodeStep:F3} ms");
    }
}
