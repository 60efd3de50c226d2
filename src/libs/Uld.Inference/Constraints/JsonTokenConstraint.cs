using Uld.Inference.Sampling;

namespace Uld.Inference.Constraints;

/// <summary>
/// The masks of one grammar over one vocabulary, shared by the choices of a request: equal automaton states get the
/// same mask, so a choice that stays inside one string or number pays for its mask once. Bounded, since a state
/// that counts (a string's length, a number's digits) is new at each step.
/// </summary>
public sealed class TokenMaskCache(TokenVocabulary vocabulary, int capacity = 256)
{
    private readonly Dictionary<GrammarState, ulong[]> _masks = [];
    private readonly Lock _lock = new();

    public TokenVocabulary Vocabulary { get; } = vocabulary;

    public ulong[] Allowed(GrammarState state)
    {
        lock (_lock)
        {
            if (_masks.TryGetValue(state, out var cached)) return cached;
        }
        var mask = Vocabulary.AllowedTokens(state);
        lock (_lock)
        {
            if (_masks.Count >= capacity) _masks.Clear();
            _masks[state] = mask;
        }
        return mask;
    }
}

/// <summary>
/// One choice's structured-output constraint (docs/DESIGN.md, *Structured output*): tokens whose bytes cannot continue
/// the grammar's text are masked, and the end of the output (EOS) is allowed only where the text is complete — and is
/// then the only token once nothing more may follow.
/// </summary>
public sealed class JsonTokenConstraint(JsonGrammar grammar, TokenMaskCache masks, int? eosId) : ITokenConstraint
{
    private GrammarState? _state = grammar.Start();

    /// <summary>The grammar's state after the tokens so far (null once the end was chosen).</summary>
    public GrammarState? State => _state;

    public bool Mask(Span<float> scores)
    {
        if (_state is null) return false;
        var eos = eosId is { } e && e >= 0 && e < scores.Length ? e : -1;
        var eosScore = eos >= 0 ? scores[eos] : float.NegativeInfinity;
        var mask = _state.CanContinue ? masks.Allowed(_state) : null;
        var vocabulary = masks.Vocabulary.Size;
        var (allowed, finite) = (0, 0);
        for (var start = 0; start < scores.Length; start += 64)
        {
            var word = start >> 6;
            var bits = mask is not null && word < mask.Length ? mask[word] : 0UL;
            var inVocabulary = vocabulary - start;
            if (inVocabulary < 64) bits &= inVocabulary <= 0 ? 0 : (1UL << inVocabulary) - 1;
            var end = Math.Min(start + 64, scores.Length);
            for (var v = start; v < end; v++)
            {
                if ((bits & (1UL << (v - start))) == 0) scores[v] = float.NegativeInfinity;
                else
                {
                    allowed++;
                    if (!float.IsNegativeInfinity(scores[v])) finite++;
                }
            }
        }
        if (eos >= 0 && _state.IsComplete)
        {
            // Where only the end may follow it is the one choice, whatever the decode rule left of its score.
            scores[eos] = allowed == 0 && float.IsNegativeInfinity(eosScore) ? 0 : eosScore;
            allowed++;
            if (!float.IsNegativeInfinity(scores[eos])) finite++;
        }
        if (allowed > 0 && finite == 0)
        {
            // The decode rule's filter (ULD's relative top) removed every token the grammar allows: choose among
            // those uniformly rather than end with text that does not parse.
            for (var v = 0; v < Math.Min(vocabulary, scores.Length); v++)
            {
                if (mask is not null && TokenVocabulary.IsSet(mask, v)) scores[v] = 0;
            }
            if (eos >= 0 && _state.IsComplete) scores[eos] = 0;
        }
        return allowed > 0;
    }

    public void Advance(int token)
    {
        if (_state is null) return;
        if (token == eosId)
        {
            _state = null;
            return;
        }
        _state = _state.Step(masks.Vocabulary.Bytes(token))
                 ?? throw new InvalidOperationException($"token {token} does not continue the constrained output; the mask should have excluded it.");
    }
}
