using System.Security.Cryptography;
using System.Text;

namespace Uld.Gateway.Experiments;

/// <summary>
/// Weighted, sticky variant assignment: the variant is a pure function of (experiment, subject), so the same API key
/// or user always lands on the same side, across requests, replicas and restarts, without shared state.
/// </summary>
public static class ExperimentAssigner
{
    public static VariantOptions Assign(string experiment, ExperimentOptions options, string subject)
    {
        var total = options.Variants.Sum(v => v.Weight);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{experiment}\n{subject}"));
        var bucket = (long)(BitConverter.ToUInt64(hash, 0) % (ulong)total);
        foreach (var variant in options.Variants)
        {
            bucket -= variant.Weight;
            if (bucket < 0) return variant;
        }
        return options.Variants[^1];
    }
}
