using System.Text.Json;
using Uld.Contracts;
using Uld.Evaluation.Data;

namespace Uld.Bench.ForgetRequests;

/// <summary>
/// The benchmark's deletion requests as a user would send them: one JSON Lines file of question/answer records per
/// request (one TOFU author each), the union of the first k requests, and the retain / retain-eval / holdout files.
/// </summary>
public sealed class RequestData
{
    private static readonly JsonSerializerOptions OneLine = new(Json.Options) { WriteIndented = false };

    private RequestData(string dir) => Dir = dir;

    public string Dir { get; }
    public string RetainTrain => Path.Combine(Dir, "retain-train.jsonl");
    public string RetainEval => Path.Combine(Dir, "retain-eval.jsonl");
    public string Holdout => Path.Combine(Dir, "holdout.jsonl");

    /// <summary>Request <paramref name="k"/> (from 1) alone.</summary>
    public string Request(int k) => Path.Combine(Dir, $"request-{k}.jsonl");

    /// <summary>Requests 1..<paramref name="k"/> together.</summary>
    public string Union(int k) => k == 1 ? Request(1) : Path.Combine(Dir, $"union-1-{k}.jsonl");

    public static RequestData Write(ForgetRequestsOptions o)
    {
        var data = new RequestData(Path.Combine(o.WorkDir, "data"));
        Directory.CreateDirectory(data.Dir);
        var tofu = TofuDataset.Load(o.TofuDir);
        for (var k = 1; k <= o.RequestAuthors.Count; k++)
        {
            WriteQa(data.Request(k), tofu.Authors([o.RequestAuthors[k - 1]]));
            if (k > 1) WriteQa(data.Union(k), tofu.Authors(o.RequestAuthors.Take(k)));
        }
        WriteQa(data.RetainTrain, tofu.Authors(o.RetainTrainAuthors));
        WriteQa(data.RetainEval, tofu.Authors(o.RetainEvalAuthors));
        WriteQa(data.Holdout, tofu.Authors(o.HoldoutAuthors));
        return data;
    }

    private static void WriteQa(string path, IEnumerable<TofuRecord> records)
    {
        var lines = Corpus.QuestionAnswers(records).Select(r => JsonSerializer.Serialize(new { question = r.Question, answer = r.Answer }, OneLine));
        AtomicFile.WriteAllText(path, string.Join('\n', lines) + "\n");
    }
}
