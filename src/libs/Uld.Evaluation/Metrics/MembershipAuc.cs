namespace Uld.Evaluation.Metrics;

/// <summary>Membership-inference AUC: how often a member's score exceeds a non-member's.</summary>
public static class MembershipAuc
{
    /// <summary>P(member score &gt; non-member score) over every pair, ties counted half (0.5 = indistinguishable).</summary>
    public static double Of(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        if (members.Count == 0 || nonMembers.Count == 0) throw new ArgumentException("an AUC needs members and non-members.");
        var wins = 0.0;
        foreach (var m in members)
            foreach (var n in nonMembers)
                wins += m > n ? 1 : m == n ? 0.5 : 0;
        return wins / (members.Count * (double)nonMembers.Count);
    }
}
