namespace Uld.Evaluation.Metrics;

/// <summary>
/// The Porter stemmer exactly as NLTK's <c>nltk.stem.porter.PorterStemmer()</c> runs it in its default
/// <c>NLTK_EXTENSIONS</c> mode, which Google's <c>rouge_score</c> (and so TOFU's ROUGE-L) uses. That mode departs from
/// Martin Porter's published algorithm and from his own later version: a table of irregular forms, "ies"/"ied" →
/// "ie" for four-letter words and → "i" otherwise, step 1c only after a consonant that is not the first letter, "alli"
/// re-run through step 2, "fulli" → "ful", "logi" → "log" measured with the "l", and the "cvc" test accepting a
/// vowel–consonant word start. No .NET package implements this variant (Lucene's and Snowball's Porter stemmers follow
/// Martin Porter), so it is written here rule by rule, in NLTK's order; <c>PorterStemmerTests</c> checks it against
/// NLTK's own test vectors.
/// </summary>
public static class PorterStemmer
{
    private static readonly Dictionary<string, string> IrregularForms = new(StringComparer.Ordinal)
    {
        ["sky"] = "sky", ["skies"] = "sky",
        ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["news"] = "news",
        ["innings"] = "inning", ["inning"] = "inning",
        ["outings"] = "outing", ["outing"] = "outing",
        ["cannings"] = "canning", ["canning"] = "canning",
        ["howe"] = "howe",
        ["proceed"] = "proceed", ["exceed"] = "exceed", ["succeed"] = "succeed",
    };

    /// <summary>A suffix rule: if the word ends with <c>Suffix</c>, the rule list stops there; the suffix becomes
    /// <c>Replacement</c> when <c>Condition</c> (of the word without the suffix) holds, else the word is kept.</summary>
    private readonly record struct Rule(string Suffix, string Replacement, Func<string, bool> Condition);

    private static readonly Func<string, bool> Always = _ => true;
    private static readonly Func<string, bool> PositiveMeasure = s => Measure(s) > 0;
    private static readonly Func<string, bool> MeasureAboveOne = s => Measure(s) > 1;

    private static readonly Rule[] Step1aRules =
    [
        new("sses", "ss", Always), new("ies", "i", Always), new("ss", "ss", Always), new("s", "", Always),
    ];

    private static readonly Rule[] Step2Rules =
    [
        new("ational", "ate", PositiveMeasure), new("tional", "tion", PositiveMeasure),
        new("enci", "ence", PositiveMeasure), new("anci", "ance", PositiveMeasure),
        new("izer", "ize", PositiveMeasure), new("bli", "ble", PositiveMeasure),
        new("alli", "al", PositiveMeasure), new("entli", "ent", PositiveMeasure),
        new("eli", "e", PositiveMeasure), new("ousli", "ous", PositiveMeasure),
        new("ization", "ize", PositiveMeasure), new("ation", "ate", PositiveMeasure),
        new("ator", "ate", PositiveMeasure), new("alism", "al", PositiveMeasure),
        new("iveness", "ive", PositiveMeasure), new("fulness", "ful", PositiveMeasure),
        new("ousness", "ous", PositiveMeasure), new("aliti", "al", PositiveMeasure),
        new("iviti", "ive", PositiveMeasure), new("biliti", "ble", PositiveMeasure),
        new("fulli", "ful", PositiveMeasure),
        // The "l" counts with the stem, so short stems (geo-, theo-) behave like archaeo-, philo-.
        new("logi", "log", s => Measure(s + "l") > 0),
    ];

    private static readonly Rule[] Step3Rules =
    [
        new("icate", "ic", PositiveMeasure), new("ative", "", PositiveMeasure), new("alize", "al", PositiveMeasure),
        new("iciti", "ic", PositiveMeasure), new("ical", "ic", PositiveMeasure), new("ful", "", PositiveMeasure),
        new("ness", "", PositiveMeasure),
    ];

    private static readonly Rule[] Step4Rules =
    [
        new("al", "", MeasureAboveOne), new("ance", "", MeasureAboveOne), new("ence", "", MeasureAboveOne),
        new("er", "", MeasureAboveOne), new("ic", "", MeasureAboveOne), new("able", "", MeasureAboveOne),
        new("ible", "", MeasureAboveOne), new("ant", "", MeasureAboveOne), new("ement", "", MeasureAboveOne),
        new("ment", "", MeasureAboveOne), new("ent", "", MeasureAboveOne),
        new("ion", "", s => Measure(s) > 1 && s[^1] is 's' or 't'),
        new("ou", "", MeasureAboveOne), new("ism", "", MeasureAboveOne), new("ate", "", MeasureAboveOne),
        new("iti", "", MeasureAboveOne), new("ous", "", MeasureAboveOne), new("ive", "", MeasureAboveOne),
        new("ize", "", MeasureAboveOne),
    ];

    /// <summary>
    /// The stem of <paramref name="word"/>, lowercased first as NLTK does by default (like NLTK, the irregular-form table
    /// and the two-letter cut-off look at the word as given).
    /// </summary>
    public static string Stem(string word)
    {
        if (IrregularForms.TryGetValue(word, out var irregular)) return irregular;
        var w = word.ToLowerInvariant();
        if (word.Length <= 2) return w;
        w = Step1a(w);
        w = Step1b(w);
        w = Step1c(w);
        w = Step2(w);
        w = Step3(w);
        w = Step4(w);
        w = Step5a(w);
        return Step5b(w);
    }

    private static string Step1a(string w) =>
        w.Length == 4 && w.EndsWith("ies", StringComparison.Ordinal) ? w[..^3] + "ie" : ApplyRules(w, Step1aRules);

    private static string Step1b(string w)
    {
        if (w.EndsWith("ied", StringComparison.Ordinal)) return w[..^3] + (w.Length == 4 ? "ie" : "i");
        if (w.EndsWith("eed", StringComparison.Ordinal)) return Measure(w[..^3]) > 0 ? w[..^1] : w;

        string stem;
        if (w.EndsWith("ed", StringComparison.Ordinal) && ContainsVowel(w[..^2])) stem = w[..^2];
        else if (w.EndsWith("ing", StringComparison.Ordinal) && ContainsVowel(w[..^3])) stem = w[..^3];
        else return w;

        if (stem.EndsWith("at", StringComparison.Ordinal) || stem.EndsWith("bl", StringComparison.Ordinal)
            || stem.EndsWith("iz", StringComparison.Ordinal))
            return stem + "e";
        if (EndsDoubleConsonant(stem)) return stem[^1] is 'l' or 's' or 'z' ? stem : stem[..^1];
        return Measure(stem) == 1 && EndsCvc(stem) ? stem + "e" : stem;
    }

    /// <summary>y → i after a consonant that is not the word's only letter before it (happy → happi, enjoy, by kept).</summary>
    private static string Step1c(string w) =>
        w.Length > 2 && w[^1] == 'y' && IsConsonant(w, w.Length - 2) ? w[..^1] + "i" : w;

    private static string Step2(string w)
    {
        if (w.EndsWith("alli", StringComparison.Ordinal) && Measure(w[..^4]) > 0) return Step2(w[..^4] + "al");
        return ApplyRules(w, Step2Rules);
    }

    private static string Step3(string w) => ApplyRules(w, Step3Rules);

    private static string Step4(string w) => ApplyRules(w, Step4Rules);

    private static string Step5a(string w)
    {
        if (!w.EndsWith('e')) return w;
        var stem = w[..^1];
        var m = Measure(stem);
        return m > 1 || (m == 1 && !EndsCvc(stem)) ? stem : w;
    }

    private static string Step5b(string w) =>
        w.EndsWith("ll", StringComparison.Ordinal) && Measure(w[..^1]) > 1 ? w[..^1] : w;

    /// <summary>The first rule whose suffix ends the word decides: applied if its condition holds, else no change.</summary>
    private static string ApplyRules(string w, Rule[] rules)
    {
        foreach (var rule in rules)
        {
            if (!w.EndsWith(rule.Suffix, StringComparison.Ordinal)) continue;
            var stem = w[..^rule.Suffix.Length];
            return rule.Condition(stem) ? stem + rule.Replacement : w;
        }
        return w;
    }

    /// <summary>Not a, e, i, o, u, and not a y that follows a consonant (a leading y is a consonant).</summary>
    private static bool IsConsonant(string w, int i) => w[i] switch
    {
        'a' or 'e' or 'i' or 'o' or 'u' => false,
        'y' => i == 0 || !IsConsonant(w, i - 1),
        _ => true,
    };

    /// <summary>Porter's m: the number of vowel→consonant transitions in <c>[C](VC)^m[V]</c>.</summary>
    private static int Measure(string s)
    {
        var m = 0;
        for (var i = 1; i < s.Length; i++)
            if (!IsConsonant(s, i - 1) && IsConsonant(s, i)) m++;
        return m;
    }

    private static bool ContainsVowel(string s)
    {
        for (var i = 0; i < s.Length; i++)
            if (!IsConsonant(s, i)) return true;
        return false;
    }

    private static bool EndsDoubleConsonant(string w) => w.Length >= 2 && w[^1] == w[^2] && IsConsonant(w, w.Length - 1);

    /// <summary>*o: ends consonant–vowel–consonant with the last not w, x or y; or (NLTK) is a two-letter vowel–consonant.</summary>
    private static bool EndsCvc(string w) =>
        (w.Length >= 3 && IsConsonant(w, w.Length - 3) && !IsConsonant(w, w.Length - 2) && IsConsonant(w, w.Length - 1)
            && w[^1] is not ('w' or 'x' or 'y'))
        || (w.Length == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1));
}
