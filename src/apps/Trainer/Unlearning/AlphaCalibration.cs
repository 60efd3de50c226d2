using System.Text.Json.Nodes;
using Uld.Evaluation.Metrics;
using Uld.Inference.Sampling;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// What the forget answers are compared with when α is calibrated (docs/METHODS.md, *α calibration*); which one the
/// product uses is itself a design choice, made on validation forget sets.
/// </summary>
public enum CalibrationReference
{
    /// <summary>Answers of authors no model saw, to their own questions: forget text should look like text never seen (MUSE's PrivLeak ≈ 0).</summary>
    Unseen,
    /// <summary>Retain authors' answers put to the forget questions: the model should prefer the true answer no more than another one (TOFU's truth ratio ≈ 1).</summary>
    OtherAnswers,
}

/// <summary>One calibration: the α where the forget answers' likelihood meets the reference's, and the curve it was read from.</summary>
/// <param name="Alpha">the smallest α at which forget answers are no more likely than the reference answers</param>
/// <param name="Reached">false when even the largest α tried leaves the forget answers more likely than the reference</param>
/// <param name="HoldoutLogLikelihood">mean per-token log-likelihood of the reference answers at <paramref name="Alpha"/></param>
public sealed record AlphaCalibrationResult(double Alpha, bool Reached, UldRule Rule, double RelativeTop, double HoldoutLogLikelihood,
    IReadOnlyList<AlphaCalibration.Point> Curve)
{
    /// <summary>
    /// The manifest's <c>metrics.calibration</c>: the recommended α (LogitServer's default for the rule) from
    /// <paramref name="chosen"/>, and every reference's α and curve.
    /// </summary>
    public static JsonObject ToJson(IReadOnlyDictionary<CalibrationReference, AlphaCalibrationResult> all, CalibrationReference chosen)
    {
        var recommended = all[chosen];
        var json = new JsonObject
        {
            ["recommended_alpha"] = recommended.Alpha,
            ["reached"] = recommended.Reached,
            ["reference"] = Name(chosen),
            ["rule"] = recommended.Rule.ToString(),
            ["relative_top"] = recommended.RelativeTop,
            ["statistic"] = "mean per-token log-likelihood of the forget answers vs the reference answers, under the decode rule",
        };
        // One line per reference ("alpha_unseen": 2.5): the benchmark script reads them without a JSON parser.
        foreach (var (reference, result) in all) json["alpha_" + Name(reference).Replace('-', '_')] = result.Alpha;
        json["curves"] = new JsonObject(all.Select(kv => KeyValuePair.Create(Name(kv.Key), (JsonNode?)new JsonArray(kv.Value.Curve.Select(p => (JsonNode)new JsonObject
        {
            ["alpha"] = p.Alpha,
            ["forget"] = Math.Round(p.ForgetLogLikelihood, 4),
            ["reference"] = Math.Round(p.HoldoutLogLikelihood, 4),
            ["auc"] = Math.Round(p.Auc, 4),
        }).ToArray()))));
        return json;
    }

    public static string Name(CalibrationReference reference) => reference == CalibrationReference.Unseen ? "unseen" : "other-answers";
}

/// <summary>
/// Chooses a ULD assistant's α without a retain model (docs/METHODS.md, *α calibration*): a deletion request comes with
/// the model, the assistant, the forget data and text the model never saw — never with a model retrained without the
/// forget data, so "the α with the best forget quality" cannot be how α is set. Instead: serve the answers of both sets
/// through the decode rule at a grid of α and take the smallest α at which the forget answers' mean per-token
/// log-likelihood has fallen to the unseen answers' (linear interpolation between grid points). That is MUSE's
/// PrivLeak ≈ 0 idea with the mean log-likelihood as the membership score: below it, forget text looks less familiar
/// than text the model never saw, which a model that never saw it would not do either.
/// </summary>
public static class AlphaCalibration
{
    /// <param name="ForgetLogLikelihood">mean over forget answers of their mean per-token log-likelihood</param>
    /// <param name="Auc">P(forget answer scores above an unseen answer), ties half: 0.5 = indistinguishable</param>
    public sealed record Point(double Alpha, double ForgetLogLikelihood, double HoldoutLogLikelihood, double Auc);

    /// <summary>α from 0 to 4 in steps of 0.125: past 4 the SuppressOnly penalty exceeds any base margin on these vocabularies.</summary>
    public static IReadOnlyList<double> DefaultGrid { get; } = Enumerable.Range(0, 33).Select(i => i * 0.125).ToArray();

    /// <summary>One calibration per reference; the forget answers are scored once for all of them.</summary>
    public static Dictionary<TKey, AlphaCalibrationResult> Calibrate<TKey>(LlamaForCausalLM target, LlamaForCausalLM assistant, IReadOnlyList<ChatExample> forget,
        IReadOnlyDictionary<TKey, IReadOnlyList<ChatExample>> references, UldRule rule, double relativeTop, IReadOnlyList<double>? grid = null) where TKey : notnull
    {
        if (forget.Count == 0 || references.Values.Any(r => r.Count == 0)) throw new ArgumentException("calibration needs forget and reference answers.");
        var alphas = grid ?? DefaultGrid;
        var forgetScores = Scores(target, assistant, forget, alphas, rule, relativeTop);
        return references.ToDictionary(kv => kv.Key, kv =>
        {
            var referenceScores = Scores(target, assistant, kv.Value, alphas, rule, relativeTop);
            var curve = alphas.Select((a, i) => new Point(a, forgetScores.Average(s => s[i]), referenceScores.Average(s => s[i]),
                RocAuc.Of(forgetScores.Select(s => s[i]).ToList(), referenceScores.Select(s => s[i]).ToList()))).ToList();
            return Choose(curve, rule, relativeTop);
        });
    }

    /// <summary>The smallest α where forget log-likelihood ≤ unseen log-likelihood, interpolated; the largest α if none.</summary>
    public static AlphaCalibrationResult Choose(IReadOnlyList<Point> curve, UldRule rule, double relativeTop)
    {
        for (var i = 0; i < curve.Count; i++)
        {
            var gap = curve[i].ForgetLogLikelihood - curve[i].HoldoutLogLikelihood;
            if (gap > 0) continue;
            if (i == 0) return new AlphaCalibrationResult(curve[0].Alpha, true, rule, relativeTop, curve[0].HoldoutLogLikelihood, curve);
            var previousGap = curve[i - 1].ForgetLogLikelihood - curve[i - 1].HoldoutLogLikelihood;
            var t = previousGap / (previousGap - gap);
            var alpha = curve[i - 1].Alpha + t * (curve[i].Alpha - curve[i - 1].Alpha);
            var holdout = curve[i - 1].HoldoutLogLikelihood + t * (curve[i].HoldoutLogLikelihood - curve[i - 1].HoldoutLogLikelihood);
            return new AlphaCalibrationResult(Math.Round(alpha, 3), true, rule, relativeTop, holdout, curve);
        }
        return new AlphaCalibrationResult(curve[^1].Alpha, false, rule, relativeTop, curve[^1].HoldoutLogLikelihood, curve);
    }

    /// <summary>Per example, per α: the mean log-probability of its answer tokens under the decode rule.</summary>
    private static List<double[]> Scores(LlamaForCausalLM target, LlamaForCausalLM assistant, IReadOnlyList<ChatExample> examples,
        IReadOnlyList<double> alphas, UldRule rule, double relativeTop)
    {
        var scores = new List<double[]>(examples.Count);
        foreach (var example in examples)
        {
            var (baseLogits, assistantLogits) = (AnswerLogits(target, example), AnswerLogits(assistant, example));
            var vocab = baseLogits.Length / (example.Tokens.Length - example.AnswerStart);
            var combined = new float[vocab];
            var sums = new double[alphas.Count];
            var positions = example.Tokens.Length - example.AnswerStart;
            for (var p = 0; p < positions; p++)
            {
                var label = example.Tokens[example.AnswerStart + p];
                var b = baseLogits.AsSpan(p * vocab, vocab);
                var a = assistantLogits.AsSpan(p * vocab, vocab);
                for (var i = 0; i < alphas.Count; i++)
                {
                    UldLogits.Combine(b, a, alphas[i], relativeTop, combined, rule);
                    // A token the relative-top filter masks has probability 0; count it as far below anything kept.
                    sums[i] += float.IsNegativeInfinity(combined[label]) ? -100 : combined[label];
                }
            }
            scores.Add(sums.Select(s => s / positions).ToArray());
        }
        return scores;
    }

    /// <summary>The logits that predict each answer token (positions AnswerStart−1 … end−2), flattened [positions × vocab].</summary>
    private static float[] AnswerLogits(LlamaForCausalLM model, ChatExample example)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var n = example.Tokens.Length;
        var ids = tensor(example.Tokens.Select(t => (long)t).ToArray(), [1, n]);
        var (logits, _) = model.Forward(ids, ones(1, n, dtype: ScalarType.Int64), arange(n, dtype: ScalarType.Int64).unsqueeze(0));
        return logits[0, TensorIndex.Slice(example.AnswerStart - 1, n - 1)].contiguous().data<float>().ToArray();
    }
}
