using System.Text.Json;
using Uld.Evaluation.Data;

namespace Uld.Tests.Support;

/// <summary>
/// TOFU question/answer records as a deletion request would bring them, from ../shared/data/tofu. The TOFU-mini
/// target (models/tofu-mini-target) learned authors 0–19 and 180–199 and never saw the others.
/// </summary>
public static class TofuRequestData
{
    private static readonly Lazy<TofuDataset> Tofu = new(() => TofuDataset.Load(Path.Combine(SharedPaths.Shared, "data", "tofu")));

    /// <summary>Authors the target learned that no default assistant forgets (validation and reserved authors).</summary>
    public const int RequestAuthor = 190, SecondRequestAuthor = 191;

    /// <summary>The first <paramref name="count"/> question/answer pairs of an author, as records.</summary>
    public static IReadOnlyList<object> Records(int author, int count = 20) =>
        [.. Tofu.Value.Authors([author]).Take(count).Select(r => (object)new { question = r.Question, answer = r.Answer })];

    /// <summary>Records of several authors as one JSON Lines file.</summary>
    public static string Write(string path, IEnumerable<int> authors, int perAuthor = 20)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, authors.SelectMany(a => Records(a, perAuthor)).Select(r => JsonSerializer.Serialize(r)));
        return path;
    }
}
