using System.Runtime.CompilerServices;
using Uld.Inference.Constraints;
using Uld.Tokenization;

namespace Uld.LogitServer.StructuredOutput;

/// <summary>
/// One <see cref="TokenVocabulary"/> per tokenizer, built on first use (a 128K vocabulary takes a fraction of a second)
/// and shared by every deployment and request using that tokenizer. Special tokens (BOS, EOS, chat markers) are never
/// part of constrained text: they are not text, and EOS is the constraint's own business.
/// </summary>
public static class ConstraintVocabularies
{
    private static readonly ConditionalWeakTable<ModelTokenizer, Lazy<TokenVocabulary>> Built = [];

    public static TokenVocabulary For(ModelTokenizer tokenizer) =>
        Built.GetValue(tokenizer, t => new Lazy<TokenVocabulary>(() => Create(t), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    public static TokenVocabulary Create(ModelTokenizer tokenizer) =>
        new(Enumerable.Range(0, tokenizer.VocabSize).Select(id => tokenizer.TokenBytes(id).ToArray()).ToList(), tokenizer.IsSpecial);
}
