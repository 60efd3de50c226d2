using System.Text.RegularExpressions;

namespace Uld.Forget.Store;

/// <summary>
/// Where one request's files live under the data directory (<c>requests/&lt;id&gt;/</c>): its forget and retain data as
/// saved at submission, the trained assistant, the gate's evaluation results, the trainer's log and the audit record.
/// </summary>
public sealed partial class RequestFiles(string dataDirectory, string id)
{
    public string Directory { get; } = Path.Combine(dataDirectory, "requests", IsId(id) ? id : throw new ArgumentException($"'{id}' is not a request id.", nameof(id)));
    public string Forget => Path.Combine(Directory, "forget.jsonl");
    public string Retain => Path.Combine(Directory, "retain.jsonl");
    /// <summary>What the assistant trains on under the Union combination: every deployed request's forget data and this one's.</summary>
    public string UnionForget => Path.Combine(Directory, "union-forget.jsonl");
    public string Assistant => Path.Combine(Directory, "assistant");
    public string TrainerLog => Path.Combine(Directory, "trainer.log");
    public string Gate => Path.Combine(Directory, "gate");
    public string AuditJson => Path.Combine(Directory, "audit.json");
    public string AuditMarkdown => Path.Combine(Directory, "audit.md");

    /// <summary>A new, unguessable request id.</summary>
    public static string NewId() => "fr-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>Only ids of the service's own form ever reach the file system.</summary>
    public static bool IsId(string? id) => id is not null && IdPattern().IsMatch(id);

    [GeneratedRegex("^fr-[0-9a-f]{16}$")]
    private static partial Regex IdPattern();
}
