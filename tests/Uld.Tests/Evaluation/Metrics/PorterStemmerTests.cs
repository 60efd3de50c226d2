using Uld.Evaluation.Metrics;
using Uld.Tests.Support;

namespace Uld.Tests.Evaluation.Metrics;

/// <summary>
/// <see cref="PorterStemmer"/> against NLTK's Porter test vectors (nltk_data <c>stemmers/porter_test</c>,
/// <c>porter_vocabulary.txt</c> → <c>porter_nltk_output.txt</c>, the default NLTK_EXTENSIONS mode).
/// </summary>
public sealed class PorterStemmerTests
{
    [Theory]
    // Step 1a: sses → ss, ies → i, s → ""; NLTK: four-letter "ies" words → "ie" (Martin Porter: ti, di, li).
    [InlineData("blesses", "bless")]
    [InlineData("cats", "cat")]
    [InlineData("armies", "armi")]
    [InlineData("ties", "tie")]
    [InlineData("dies", "die")]
    [InlineData("lies", "lie")]
    // Step 1b: (m>0) eed → ee, (*v*) ed / ing with the at/bl/iz, double-consonant and cvc repairs.
    [InlineData("agreed", "agre")]
    [InlineData("feed", "feed")]
    [InlineData("indeed", "inde")]
    [InlineData("acted", "act")]
    [InlineData("aching", "ach")]
    [InlineData("tanned", "tan")]
    [InlineData("adding", "ad")]
    [InlineData("falling", "fall")]
    [InlineData("hissing", "hiss")]
    [InlineData("failing", "fail")]
    [InlineData("troubled", "troubl")]
    [InlineData("created", "creat")]
    [InlineData("canonized", "canon")]
    // NLTK: "ied" → "ie" for four letters, else "i" (Martin Porter: di, ti).
    [InlineData("died", "die")]
    [InlineData("tied", "tie")]
    [InlineData("spied", "spi")]
    [InlineData("cried", "cri")]
    // Step 1c, NLTK: y → i only after a consonant that is not the first letter (Martin Porter: enjoi, spy, fly, cry).
    [InlineData("happy", "happi")]
    [InlineData("enjoy", "enjoy")]
    [InlineData("spy", "spi")]
    [InlineData("fly", "fli")]
    [InlineData("cry", "cri")]
    // NLTK's irregular forms (Martin Porter: dy, ly, ski, new, proce, exce, how).
    [InlineData("dying", "die")]
    [InlineData("lying", "lie")]
    [InlineData("skies", "sky")]
    [InlineData("news", "news")]
    [InlineData("proceed", "proceed")]
    [InlineData("exceed", "exceed")]
    [InlineData("howe", "howe")]
    // Step 2.
    [InlineData("traditional", "tradit")]
    [InlineData("infancy", "infanc")]
    [InlineData("temporizer", "tempor")]
    [InlineData("notably", "notabl")]
    [InlineData("equally", "equal")]
    [InlineData("silently", "silent")]
    [InlineData("barely", "bare")]
    [InlineData("famously", "famous")]
    [InlineData("relation", "relat")]
    [InlineData("senator", "senat")]
    [InlineData("forgiveness", "forgiv")]
    [InlineData("thankfulness", "thank")]
    [InlineData("covetousness", "covet")]
    [InlineData("morality", "moral")]
    [InlineData("activity", "activ")]
    [InlineData("capability", "capabl")]
    [InlineData("apology", "apolog")]
    // NLTK: fulli → ful (Martin Porter: carefulli), unless the stem is empty.
    [InlineData("carefully", "care")]
    [InlineData("lawfully", "law")]
    [InlineData("fully", "fulli")]
    // Step 3.
    [InlineData("dedicate", "dedic")]
    [InlineData("negative", "neg")]
    [InlineData("moralize", "moral")]
    [InlineData("felicity", "felic")]
    [InlineData("magical", "magic")]
    [InlineData("joyful", "joy")]
    [InlineData("badness", "bad")]
    // Step 4.
    [InlineData("allowance", "allow")]
    [InlineData("inference", "infer")]
    [InlineData("defensible", "defens")]
    [InlineData("dependent", "depend")]
    [InlineData("adoption", "adopt")]
    [InlineData("barbarism", "barbar")]
    [InlineData("active", "activ")]
    // Step 5: (m>1) e, (m=1 and not *o) e, (m>1) ll → l.
    [InlineData("cease", "ceas")]
    [InlineData("rate", "rate")]
    [InlineData("controlling", "control")]
    [InlineData("roll", "roll")]
    // NLTK's *o also accepts a vowel–consonant start, so these keep their e (Martin Porter: ey, ar, ic, us, ir).
    [InlineData("eye", "eye")]
    [InlineData("are", "are")]
    [InlineData("ice", "ice")]
    [InlineData("use", "use")]
    [InlineData("ireful", "ire")]
    public void Stems_as_nltk_does(string word, string stem) => Assert.Equal(stem, PorterStemmer.Stem(word));

    [Fact]
    public void Matches_a_sample_of_nltk_test_vectors()
    {
        var path = Path.Combine(SharedPaths.RepositoryRoot, "tests", "Uld.Tests", "Fixtures", "porter", "nltk-sample.tsv");
        var pairs = File.ReadLines(path).Where(l => !l.StartsWith('#')).Select(l => l.Split('\t')).ToList();
        Assert.True(pairs.Count > 700);
        var wrong = pairs.Where(p => PorterStemmer.Stem(p[0]) != p[1]).Select(p => $"{p[0]} → {PorterStemmer.Stem(p[0])}, NLTK {p[1]}").ToList();
        Assert.Empty(wrong);
    }
}
