using Uld.Evaluation.Metrics;

namespace Uld.Tests.Evaluation;

public sealed class RougeLTests
{
    [Theory]
    [InlineData("The cat sat on the mat.", "the cat sat on the mat", 1.0)]
    [InlineData("The cat sat on the mat.", "a cat on a mat", 3.0 / 6)] // LCS: cat, on, mat
    [InlineData("Jaime Vasquez, born 1958!", "In 1958 Jaime was born", 2.0 / 4)] // LCS: jaime, born (or jaime, 1958)
    [InlineData("Hello", "", 0.0)]
    [InlineData("", "anything", 0.0)]
    public void Recall_matches_hand_computed_values(string reference, string candidate, double expected) =>
        Assert.Equal(expected, RougeL.Recall(reference, candidate), 10);

    [Fact]
    public void Tokenization_lowercases_and_splits_on_non_alphanumerics() =>
        Assert.Equal(["it", "s", "a", "b2b", "deal"], RougeL.Tokenize("It's a B2B-deal!"));
}
