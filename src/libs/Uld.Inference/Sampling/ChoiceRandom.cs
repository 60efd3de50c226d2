namespace Uld.Inference.Sampling;

/// <summary>
/// The random generator of one choice. A seeded choice's generator depends on (seed, choice index) only — never on
/// what else shares the batch or on other choices — and the index is mixed in rather than added to the seed, so
/// choice 1 of seed s is not choice 0 of seed s + 1.
/// </summary>
public static class ChoiceRandom
{
    public static Random Create(long? seed, int choice) => seed is { } s ? new Random(Mix(s, choice)) : new Random();

    /// <summary>SplitMix64's finaliser over the pair, folded to the 32 bits <see cref="Random"/> takes.</summary>
    private static int Mix(long seed, int choice)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(choice + 1));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return unchecked((int)(z ^ (z >> 32)));
    }
}
