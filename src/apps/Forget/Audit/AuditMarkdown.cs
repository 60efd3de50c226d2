using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Contracts.Forget;

namespace Uld.Forget.Audit;

/// <summary>The audit record for people: the same facts as audit.json, as one Markdown page.</summary>
public static class AuditMarkdown
{
    public static string Write(AuditRecord record)
    {
        var r = record.Request;
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Forget request {r.Id}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- deployment: `{r.Deployment}`");
        md.AppendLine(CultureInfo.InvariantCulture, $"- submitted by: {r.SubmittedBy}, at {Time(r.CreatedAt)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- method: {r.Method}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- state: **{r.State}**{(r.LiveAt is { } live ? $", live since {Time(live)}" : "")}");
        if (r.Error is not null) md.AppendLine(CultureInfo.InvariantCulture, $"- {(r.State == ForgetStates.Rejected ? "rejected because" : "error")}: {r.Error}");
        md.AppendLine();
        md.AppendLine("## Data");
        md.AppendLine();
        md.AppendLine("| set | source | kind | records | sha256 |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var (name, set) in new[] { ("forget", r.Forget), ("retain", r.Retain) })
        {
            if (set is not null) md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {set.Source} | {set.Kind} | {set.Records} | `{set.Sha256}` |");
        }
        md.AppendLine();
        md.AppendLine("## Transitions");
        md.AppendLine();
        md.AppendLine("| state | at | detail |");
        md.AppendLine("|---|---|---|");
        foreach (var t in r.Transitions) md.AppendLine(CultureInfo.InvariantCulture, $"| {t.State} | {Time(t.At)} | {Cell(t.Detail)} |");
        if (r.Gate is { } gate)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## Gate: {(gate.Passed ? "passed" : "failed")}");
            md.AppendLine();
            var membership = gate.MiaAuc is { } auc ? $"; membership AUC of the forget data against the holdout {F(auc)} (0.5 = indistinguishable)." : ".";
            md.AppendLine(CultureInfo.InvariantCulture, $"Candidate staged as `{gate.Staging}`; forget margin {F(gate.ForgetMargin)}, retain ratio {F(gate.RetainRatio)}{membership}");
            md.AppendLine();
            md.AppendLine("| check | value | must be | threshold | from | passed |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var c in gate.Checks)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {c.Name} | {F(c.Value)} | {c.Relation} | {F(c.Threshold)} | {c.Reference} | {(c.Passed ? "yes" : "**no**")} |");
            md.AppendLine();
            md.AppendLine("| measured | KnowMem | VerbMem | records |");
            md.AppendLine("|---|---|---|---|");
            foreach (var (name, m) in new[] { ("forget, before", gate.ForgetBefore), ("forget, candidate", gate.ForgetAfter), ("holdout (never seen)", gate.Holdout),
                         ("retain, before", gate.RetainBefore), ("retain, candidate", gate.RetainAfter) })
                md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {(m.KnowMem is { } k ? F(k) : "–")} | {F(m.VerbMem)} | {m.Passages} |");
        }
        if (record.Replicas.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Replicas");
            md.AppendLine();
            md.AppendLine("| replica | outcome | version before → after | model files before | model files after |");
            md.AppendLine("|---|---|---|---|---|");
            foreach (var c in record.Replicas)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {c.Replica} | {c.Outcome} | {c.VersionBefore?.ToString(CultureInfo.InvariantCulture) ?? "–"} → {c.VersionAfter?.ToString(CultureInfo.InvariantCulture) ?? "–"} | {Hashes(c.ModelSha256Before)} | {Hashes(c.ModelSha256After)} |");
        }
        md.AppendLine();
        md.AppendLine("## Configuration, assistant and deployment entries");
        md.AppendLine();
        foreach (var (name, node) in new (string, JsonNode?)[] { ("configuration", record.Configuration), ("assistant", record.Assistant),
                     ("entry before", record.EntryBefore), ("entry after", record.EntryAfter) })
        {
            if (node is null) continue;
            md.AppendLine(CultureInfo.InvariantCulture, $"{name}:");
            md.AppendLine();
            md.AppendLine("```json");
            md.AppendLine(node.ToJsonString(Json.Options));
            md.AppendLine("```");
            md.AppendLine();
        }
        md.AppendLine(CultureInfo.InvariantCulture, $"Written {Time(record.WrittenAt)}.");
        return md.ToString();
    }

    private static string Hashes(IReadOnlyDictionary<string, string>? hashes) =>
        hashes is null ? "–" : string.Join("<br>", hashes.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Key} `{h.Value}`"));

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture);

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Cell(string? text) => text is null ? "" : text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
