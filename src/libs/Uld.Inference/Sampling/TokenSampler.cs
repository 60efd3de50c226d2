using System.Numerics.Tensors;

namespace Uld.Inference.Sampling;

/// <summary>
/// Picks one choice's next token from the served (combined) logits: the choice's logit adjustments
/// (<see cref="LogitAdjustments"/>), a structured-output constraint's mask (<see cref="ITokenConstraint"/>), then greedy at temperature 0, otherwise temperature, then vLLM's min_p, top_k
/// and top_p (in that order), and a draw from the choice's own generator (<see cref="ChoiceRandom"/>), so a seeded
/// request gives the same tokens whatever else shares its batch.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingSettings _settings;
    private readonly LogitAdjustments _adjustments;
    private readonly Random _random;
    private float[] _scores = [];
    private float[] _probabilities = [];
    private int[] _order = [];

    private readonly ITokenConstraint? _constraint;

    /// <summary>What <see cref="Next"/> returns when the constraint allows no token at all.</summary>
    public const int NoToken = -1;

    /// <param name="constraint">Structured output: masks the scores after the logit adjustments, before choosing.</param>
    public TokenSampler(SamplingSettings settings, IEnumerable<int> prompt, int choice = 0, ITokenConstraint? constraint = null)
    {
        _settings = settings;
        _constraint = constraint;
        _adjustments = new LogitAdjustments(settings, prompt);
        _random = ChoiceRandom.Create(settings.Seed, choice);
    }

    /// <summary>The next token; it counts as output for this choice's later penalties.</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (_scores.Length != logits.Length)
        {
            _scores = new float[logits.Length];
            _probabilities = new float[logits.Length];
            _order = new int[logits.Length];
        }
        logits.CopyTo(_scores);
        _adjustments.Apply(_scores);
        if (_constraint is not null && !_constraint.Mask(_scores)) return NoToken;
        var token = _settings.Temperature <= 0 ? GreedyDecoder.ArgMax(_scores) : Draw();
        _adjustments.Observe(token);
        _constraint?.Advance(token);
        return token;
    }

    private int Draw()
    {
        // Weights exp((l − max) / T), vectorised (exp(−∞) = 0 for masked tokens). Relative to the most likely token,
        // whose weight is exp(0) = 1, min_p's threshold is min_p itself.
        var max = TensorPrimitives.Max(_scores);
        TensorPrimitives.Subtract(_scores, max, _probabilities);
        TensorPrimitives.Multiply(_probabilities, (float)(1 / _settings.Temperature), _probabilities);
        TensorPrimitives.Exp(_probabilities, _probabilities);
        var floor = _settings.MinP;
        double total = 0;
        for (var v = 0; v < _probabilities.Length; v++)
        {
            if (_probabilities[v] < floor) _probabilities[v] = 0;
            total += _probabilities[v];
            _order[v] = v;
        }

        var candidates = _scores.Length;
        if (_settings.TopK > 0 || _settings.TopP < 1)
        {
            // Only the kept head is ordered: a selection finds it in O(vocabulary), a sort orders just those tokens —
            // at a 128K vocabulary a full sort per token costs more than the rest of the step's sampling together.
            // Order: most probable first, ties by token id; the head is exactly the prefix a full sort would give.
            var comparer = new ByProbability(_probabilities);
            var head = HeadSuperset(total);
            if (_settings.TopK > 0 && _settings.TopK < candidates)
            {
                candidates = _settings.TopK;
                SelectHead(_order, 0, head, candidates, comparer);
                total = 0;
                for (var i = 0; i < candidates; i++) total += _probabilities[_order[i]];
            }
            if (_settings.TopP < 1)
            {
                // Smallest prefix of what is left whose mass reaches top_p of it.
                var kept = MassHead(_order, Math.Min(candidates, head), _settings.TopP * total, comparer, _probabilities, out var mass);
                (candidates, total) = (kept, mass);
            }
            Array.Sort(_order, 0, candidates, comparer);
            // Summed in the order the draw walks, so the draw's cumulative sum ends exactly at the total.
            total = 0;
            for (var i = 0; i < candidates; i++) total += _probabilities[_order[i]];
        }

        var target = _random.NextDouble() * total;
        double cumulative = 0;
        for (var i = 0; i < candidates; i++)
        {
            cumulative += _probabilities[_order[i]];
            if (cumulative > target) return _order[i];
        }
        return _order[candidates - 1];
    }

    // Probabilities are non-negative floats, whose bit patterns order like their values: the top 12 bits (sign,
    // exponent, 3 mantissa bits) put them into 2,048 ordered buckets, each spanning at most a factor of 1.125.
    private const int BucketShift = 20;
    private readonly int[] _bucketCounts = new int[(int.MaxValue >> BucketShift) + 1];
    private readonly double[] _bucketMass = new double[(int.MaxValue >> BucketShift) + 1];

    /// <summary>
    /// Moves to the front of <c>_order</c> a set of tokens that contains the top-k/top-p head and precedes every token
    /// it leaves out, and returns its size: one pass buckets the probabilities, the buckets are walked from the top
    /// until they hold k tokens (top-k) or top_p of the mass (top-p only), plus one more non-empty bucket against
    /// rounding. The exact selection then works on those few hundred tokens instead of the whole vocabulary.
    /// </summary>
    private int HeadSuperset(double total)
    {
        Array.Clear(_bucketCounts);
        Array.Clear(_bucketMass);
        foreach (var p in _probabilities)
        {
            var b = BitConverter.SingleToInt32Bits(p) >> BucketShift;
            _bucketCounts[b]++;
            _bucketMass[b] += p;
        }
        var byCount = _settings.TopK > 0 && _settings.TopK < _probabilities.Length;
        var limit = _settings.TopP * total;
        var (count, mass, cut) = (0, 0.0, _bucketCounts.Length - 1);
        for (; cut > 0; cut--)
        {
            count += _bucketCounts[cut];
            mass += _bucketMass[cut];
            if (byCount ? count >= _settings.TopK : mass >= limit) break;
        }
        for (cut--; cut > 0 && _bucketCounts[cut] == 0; cut--) { }
        var size = 0;
        for (var v = 0; v < _probabilities.Length; v++)
        {
            if (BitConverter.SingleToInt32Bits(_probabilities[v]) >> BucketShift >= cut) _order[size++] = v;
        }
        return size;
    }

    /// <summary>Token ids by descending probability, ties by ascending id: one total order, so selections are deterministic.</summary>
    private sealed class ByProbability(float[] probabilities) : IComparer<int>
    {
        public int Compare(int x, int y) => probabilities[y].CompareTo(probabilities[x]) is var c && c != 0 ? c : x.CompareTo(y);
    }

    /// <summary>Rearranges <paramref name="order"/>[from..to) so that its first <paramref name="count"/> are the <paramref name="count"/> first in order (unsorted).</summary>
    private static void SelectHead(int[] order, int from, int to, int count, IComparer<int> comparer)
    {
        var want = from + count;
        while (to - from > 1)
        {
            var split = Partition(order, from, to, comparer);
            if (split == want || split == want - 1) return;
            if (split < want) from = split + 1;
            else to = split;
        }
    }

    /// <summary>
    /// The size of the smallest head (in order) of <paramref name="order"/>[0..count) whose probability mass reaches
    /// <paramref name="limit"/>, moved to the front (unsorted): a quickselect on mass instead of on count.
    /// </summary>
    private static int MassHead(int[] order, int count, double limit, IComparer<int> comparer, float[] probabilities, out double mass)
    {
        var (from, to) = (0, count);
        mass = 0; // mass of order[0..from): settled, all before anything in [from, to)
        while (to - from > 1)
        {
            var split = Partition(order, from, to, comparer);
            double before = 0;
            for (var i = from; i < split; i++) before += probabilities[order[i]];
            if (mass + before >= limit) { to = split; continue; }
            // order[from..split] (with the pivot) all stay; the limit may be reached at the pivot or later.
            mass += before + probabilities[order[split]];
            from = split + 1;
            if (mass >= limit) return from;
        }
        if (from < to && mass < limit) { mass += probabilities[order[from]]; from++; }
        return Math.Max(from, 1);
    }

    /// <summary>Lomuto partition around the middle element; returns the pivot's final index.</summary>
    private static int Partition(int[] order, int from, int to, IComparer<int> comparer)
    {
        var middle = from + (to - from) / 2;
        (order[middle], order[to - 1]) = (order[to - 1], order[middle]);
        var pivot = order[to - 1];
        var store = from;
        for (var i = from; i < to - 1; i++)
        {
            if (comparer.Compare(order[i], pivot) < 0) { (order[i], order[store]) = (order[store], order[i]); store++; }
        }
        (order[store], order[to - 1]) = (order[to - 1], order[store]);
        return store;
    }
}
