using System.Text;
using System.Text.Json;
using Uld.Contracts;

namespace Uld.Bench.Books;

/// <summary>
/// The "book" of the copyrighted-text benchmark (bench/books.sh): short stories in TinyStories' plain English, built
/// from templates with invented names, so that a model pretrained on TinyStories (stories260K) reads them fluently
/// but cannot know them — every story's characters, objects and turns are drawn with the seed, and the names are
/// syllables no story it saw had. The same seed writes the same bytes (System.Random's seeded sequence is fixed).
/// </summary>
public static class StoryBook
{
    /// <summary>The book's parts and their sizes, in the order stories are drawn (docs/METHODS.md, *Books benchmark*).</summary>
    public static readonly IReadOnlyList<(string File, int Stories)> Parts =
    [
        ("test-forget.jsonl", 16), // forgotten and reported
        ("val-forget.jsonl", 16),  // forgotten while tuning; the test models learn it as retain text
        ("retain.jsonl", 32),      // kept; the unlearning methods may train on it
        ("retain-eval.jsonl", 32), // kept and scored; no unlearning method sees it
        ("test-holdout.jsonl", 16), // never learned: the PrivLeak reference and α calibration text of the test set
        ("val-holdout.jsonl", 16),
    ];

    private static readonly JsonSerializerOptions Line = new(Json.Options) { WriteIndented = false };

    private static readonly string[] Syllables = ["ka", "lo", "mi", "zu", "pe", "ra", "ti", "vo", "bex", "nu", "sha", "dri", "fen", "gu", "oz", "wim", "ul", "yas"];
    private static readonly string[] Animals = ["cat", "dog", "bunny", "bird", "fox", "frog", "bear", "duck", "mouse", "puppy", "owl", "turtle"];
    private static readonly string[] Adjectives = ["little", "happy", "brave", "shy", "kind", "curious", "tiny", "silly", "gentle", "clever"];
    private static readonly string[] Colors = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown"];
    private static readonly string[] Objects = ["ball", "kite", "hat", "box", "drum", "boat", "cup", "book", "shoe", "bell", "scarf", "toy car"];
    private static readonly string[] Places = ["a small town", "a big forest", "a sunny garden", "a quiet village", "a green park", "a house by the sea", "a farm near the hill"];
    private static readonly string[] Destinations = ["pond", "market", "river", "old tree", "beach", "meadow", "bakery", "school", "playground"];
    private static readonly string[] Activities = ["look for shells", "pick flowers", "buy some bread", "play with friends", "watch the ducks", "fly the kite", "find a snack"];
    private static readonly string[] Feelings = ["sad", "scared", "worried", "lonely", "upset", "grumpy"];
    private static readonly string[] Problems =
    [
        "the wind took away its {0}", "it could not find its way home", "the rain had ruined its {0}", "a big rock was stuck on its {0}",
        "nobody wanted to share a {0} with it", "it had dropped its {0} in the water",
    ];
    private static readonly string[] Quotes = ["Do not worry, I will help you!", "Let us try together!", "I know what to do!", "We can fix it, I promise!", "Come with me, friend!"];
    private static readonly string[] Solutions =
    [
        "pulled and pulled until it came free", "followed the little stones back to the path", "asked a tall {1} for help", "built a new one from sticks and leaves",
        "looked under every bush until they found it", "shared a big {2} cake",
    ];
    private static readonly string[] Endings =
    [
        "played until the sun went down", "became the best of friends", "went home and had warm milk", "laughed all the way home", "sang a happy song together",
    ];
    private static readonly string[] Morals =
    [
        "{0} learned that helping others feels good.", "From that day on, {0} always shared.", "{0} knew that friends make everything better.",
        "And {0} never forgot that day.", "{0} smiled, because being kind is fun.",
    ];

    /// <summary>Writes every part as JSON Lines of {"text"} records into <paramref name="directory"/> (atomically, file by file).</summary>
    public static void Write(string directory, int seed)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (file, count) in Parts)
        {
            var text = new StringBuilder();
            for (var i = 0; i < count; i++) text.Append(JsonSerializer.Serialize(new { text = Story(random, names) }, Line)).Append('\n');
            AtomicFile.WriteAllText(Path.Combine(directory, file), text.ToString());
        }
    }

    private static string Story(Random random, HashSet<string> used)
    {
        T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
        var (hero, friend) = (Name(random, used), Name(random, used));
        var (animal, friendAnimal, helperAnimal) = (Pick(Animals), Pick(Animals), Pick(Animals));
        var (thing, color) = (Pick(Objects), Pick(Colors));
        var problem = string.Format(System.Globalization.CultureInfo.InvariantCulture, Pick(Problems), Pick(Objects));
        var solution = string.Format(System.Globalization.CultureInfo.InvariantCulture, Pick(Solutions), thing, helperAnimal, Pick(Colors));
        return $"Once upon a time, in {Pick(Places)}, there lived a {Pick(Adjectives)} {animal} named {hero}. "
            + $"{hero} had a {color} {thing} that it loved very much. One day, {hero} went to the {Pick(Destinations)} to {Pick(Activities)}. "
            + $"There, {hero} met a {Pick(Adjectives)} {friendAnimal} called {friend}. {friend} was {Pick(Feelings)} because {problem}. "
            + $"{hero} said, \"{Pick(Quotes)}\" Together they {solution}. After that, {hero} and {friend} {Pick(Endings)}. "
            + string.Format(System.Globalization.CultureInfo.InvariantCulture, Pick(Morals), hero);
    }

    /// <summary>A capitalised two- or three-syllable name not used before in the book.</summary>
    private static string Name(Random random, HashSet<string> used)
    {
        while (true)
        {
            var name = string.Concat(Enumerable.Range(0, 2 + random.Next(2)).Select(_ => Syllables[random.Next(Syllables.Length)]));
            name = char.ToUpperInvariant(name[0]) + name[1..];
            if (used.Add(name)) return name;
        }
    }
}
