namespace Uld.Inference.Sampling;

/// <summary>
/// Picks the next token from log-probabilities: greedy at temperature 0, otherwise temperature + nucleus (top_p)
/// sampling from a per-request RNG, so a seeded request gives the same tokens whatever else shares its batch.
/// </summary>
public sealed class TokenSampler(double temperature, double topP, long? seed)
{
    private readonly Random _random = seed is { } s ? new Random(unchecked((int)(s ^ (s >> 32)))) : new Random();
    private float[] _probabilities = [];
    private int[] _order = [];

    public int Next(ReadOnlySpan<float> logprobs)
    {
        if (temperature <= 0) return GreedyDecoder.ArgMax(logprobs);

        if (_probabilities.Length != logprobs.Length)
        {
            _probabilities = new float[logprobs.Length];
            _order = new int[logprobs.Length];
        }
        var max = float.NegativeInfinity;
        foreach (var lp in logprobs) max = Math.Max(max, lp);
        double total = 0;
        for (var v = 0; v < logprobs.Length; v++)
        {
            _probabilities[v] = float.IsNegativeInfinity(logprobs[v]) ? 0 : (float)Math.Exp((logprobs[v] - max) / temperature);
            total += _probabilities[v];
            _order[v] = v;
        }

        var candidates = logprobs.Length;
        if (topP < 1)
        {
            // Smallest prefix of the sorted distribution whose mass reaches top_p.
            var probabilities = _probabilities;
            Array.Sort(_order, (x, y) => probabilities[y].CompareTo(probabilities[x]) is var c && c != 0 ? c : x.CompareTo(y));
            double mass = 0;
            candidates = 0;
            while (candidates < _order.Length && mass < topP * total)
            {
                mass += _probabilities[_order[candidates]];
                candidates++;
            }
            total = mass;
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
}
