using Uld.Contracts.Forget;

namespace Uld.Forget.Gate;

/// <summary>
/// The gate's rule (docs/FORGET-REQUESTS.md, *Gate*): the candidate must know the forget data no better than the
/// serving model knows text it never saw — forget KnowMem and VerbMem ≤ their holdout level + margin — and keep what it
/// should — retain KnowMem and VerbMem ≥ ratio × the serving deployment's. KnowMem is checked where the data has
/// questions (question/answer records), VerbMem always.
/// </summary>
public static class GateDecision
{
    public static GateResult Decide(string staging, SetMetrics forgetBefore, SetMetrics forgetAfter, SetMetrics holdout, SetMetrics retainBefore,
        SetMetrics retainAfter, double forgetMargin, double retainRatio, double? miaAuc)
    {
        var checks = new List<GateCheck>();
        void Forget(string metric, double? value, double? level)
        {
            if (value is not { } v || level is not { } l) return;
            checks.Add(new GateCheck($"forget {metric}", v, "<=", l + forgetMargin, FormattableString.Invariant($"holdout level {l:0.###} + margin {forgetMargin:0.###}"), v <= l + forgetMargin));
        }
        void Retain(string metric, double? value, double? before)
        {
            if (value is not { } v || before is not { } b) return;
            checks.Add(new GateCheck($"retain {metric}", v, ">=", retainRatio * b, FormattableString.Invariant($"{retainRatio:0.###} × before {b:0.###}"), v >= retainRatio * b));
        }
        Forget("knowmem", forgetAfter.KnowMem, holdout.KnowMem);
        Forget("verbmem", forgetAfter.VerbMem, holdout.VerbMem);
        Retain("knowmem", retainAfter.KnowMem, retainBefore.KnowMem);
        Retain("verbmem", retainAfter.VerbMem, retainBefore.VerbMem);
        return new GateResult(checks.All(c => c.Passed), staging, forgetBefore, forgetAfter, holdout, retainBefore, retainAfter, forgetMargin, retainRatio, checks, miaAuc);
    }
}
