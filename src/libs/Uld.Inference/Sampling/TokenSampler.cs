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
        var max = float.NegativeInfinity;
        foreach (var s in _scores) max = Math.Max(max, s);
        // Relative to the most likely token, whose weight is exp(0) = 1: min_p's threshold is min_p itself.
        var floor = _settings.MinP;
        double total = 0;
        for (var v = 0; v < _scores.Length; v++)
        {
            var p = float.IsNegativeInfinity(_scores[v]) ? 0 : (float)Math.Exp((_scores[v] - max) / _settings.Temperature);
            _probabilities[v] = p < floor ? 0 : p;
            total += _probabilities[v];
            _order[v] = v;
        }

        var candidates = _scores.Length;
        if (_settings.TopK > 0 || _settings.TopP < 1)
        {
            var probabilities = _probabilities;
            Array.Sort(_order, (x, y) => probabilities[y].CompareTo(probabilities[x]) is var c && c != 0 ? c : x.CompareTo(y));
            if (_settings.TopK > 0 && _settings.TopK < candidates)
            {
                candidates = _settings.TopK;
                total = 0;
                for (var i = 0; i < candidates; i++) total += _probabilities[_order[i]];
            }
            if (_settings.TopP < 1)
            {
                // Smallest prefix of what is left whose mass reaches top_p of it.
                var limit = _settings.TopP * total;
                double mass = 0;
                var kept = 0;
                while (kept < candidates && mass < limit) mass += _probabilities[_order[kept++]];
                (candidates, total) = (kept, mass);
            }
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
