using Uld.Evaluation.Metrics;

namespace Uld.Tests.Evaluation.Metrics;

public sealed class RougeLTests
{
    [Theory]
    [InlineData("The cat sat on the mat.", "the cat sat on the mat", 1.0)]
    [InlineData("The cat sat on the mat.", "a cat on a mat", 3.0 / 6)] // LCS: cat, on, mat
    [InlineData("Jaime Vasquez, born 1958!", "In 1958 Jaime was born", 2.0 / 4)] // LCS: jaim, born (or jaim, 1958)
    // Stems: [the, author, s, book, were, publish] vs [book, publish, by, the, author]; LCS "book publish" (or
    // "the author"): 2 of 6, the same without stemming ("books published").
    [InlineData("The author's books were published", "books published by the authors", 2.0 / 6)]
    // [the, author, s, book, were, publish] vs [the, author, publish, book]: LCS "the author publish": 3 of 6.
    [InlineData("The author's books were published", "the authors published books", 3.0 / 6)]
    // [she, write, novel, about, fli] vs [she, wrote, a, novel, about, fli] ("flying" and "flies" both stem to "fli").
    [InlineData("She writes novels about flying", "she wrote a novel about flies", 4.0 / 5)]
    [InlineData("Hello", "", 0.0)]
    [InlineData("", "anything", 0.0)]
    public void Recall_is_stemmed_by_default_and_matches_hand_computed_values(string reference, string candidate, double expected) =>
        Assert.Equal(expected, RougeL.Recall(reference, candidate), 10);

    [Theory]
    // Unstemmed: "authors" ≠ "author"; LCS "the published": 2 of 6.
    [InlineData("The author's books were published", "the authors published books", 2.0 / 6)]
    // [she, writes, novels, about, flying] vs [she, wrote, a, novel, about, flies]: LCS "she about": 2 of 5.
    [InlineData("She writes novels about flying", "she wrote a novel about flies", 2.0 / 5)]
    public void Unstemmed_recall_is_available_on_request(string reference, string candidate, double expected) =>
        Assert.Equal(expected, RougeL.Recall(reference, candidate, stem: false), 10);

    [Fact]
    public void Score_gives_rouge_score_precision_recall_and_f1()
    {
        // LCS 3 (cat, on, mat) of 6 reference and 5 candidate tokens.
        var s = RougeL.Score("The cat sat on the mat.", "a cat on a mat", stem: false);
        Assert.Equal(3.0 / 5, s.Precision, 12);
        Assert.Equal(3.0 / 6, s.Recall, 12);
        Assert.Equal(2 * 0.6 * 0.5 / (0.6 + 0.5), s.F1, 12);
        Assert.Equal(new RougeScore(0, 0, 0), RougeL.Score("words", "!!!"));
    }

    [Fact]
    public void Tokenization_lowercases_splits_on_non_alphanumerics_and_stems_tokens_longer_than_three()
    {
        Assert.Equal(["it", "s", "a", "b2b", "deal"], RougeL.Tokenize("It's a B2B-deal!", stem: false));
        // "running" → "run", "dogs" → "dog", "flies" → "fli"; "its" and "ran" have 3 letters and are kept as they are.
        Assert.Equal(["run", "dog", "its", "fli", "ran"], RougeL.Tokenize("Running dogs: its flies ran", stem: true));
        Assert.Equal(["running", "dogs", "its", "flies", "ran"], RougeL.Tokenize("Running dogs: its flies ran", stem: false));
    }
}
