using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Uld.LogitServer.Deployments;

/// <summary>Thrown when the runtime deployments file cannot be written; the change it would have recorded is not made.</summary>
public sealed class RuntimeDeploymentsFileException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// <c>LogitServer:RuntimeDeploymentsFile</c>: what the admin API changed, so that a restarted replica serves what it
/// was last told to (docs/DESIGN.md, *Runtime deployments*). The file holds the entries PUT since the configuration
/// was written (<c>Deployments</c>, deployments.json entries) and the configured names DELETEd (<c>Removed</c>); at
/// start-up, before anything is validated or loaded, those entries replace or extend the configured ones and the
/// removed names are dropped. Every change rewrites the whole file through a temporary file renamed over it, so a
/// crash leaves the old file or the new one, never half of one.
/// </summary>
public sealed class RuntimeDeploymentsFile : IPostConfigureOptions<LogitServerOptions>
{
    private readonly Lock _lock = new();
    private string? _path;
    private HashSet<string> _configured = new(StringComparer.Ordinal);
    private List<JsonObject> _entries = [];
    private List<string> _removed = [];

    /// <summary>Merges the file into the configured deployments (the default options instance only).</summary>
    public void PostConfigure(string? name, LogitServerOptions options)
    {
        if (name != Options.DefaultName || string.IsNullOrWhiteSpace(options.RuntimeDeploymentsFile)) return;
        lock (_lock)
        {
            _path = Path.GetFullPath(options.RuntimeDeploymentsFile);
            _configured = options.Deployments.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
            if (!File.Exists(_path)) return;
            (_entries, _removed) = Read(_path);

            var merged = options.Deployments.Where(d => !_removed.Contains(d.Name)).ToList();
            foreach (var entry in _entries)
            {
                var d = DeploymentSpec.Read(entry);
                var at = merged.FindIndex(m => m.Name == d.Name);
                if (at >= 0) merged[at] = d;
                else merged.Add(d);
            }
            options.Deployments = merged;
        }
    }

    /// <summary>Records that <paramref name="spec"/> now serves under its name; throws, recording nothing, if the file cannot be written.</summary>
    public void RecordPut(JsonObject spec)
    {
        var name = spec[nameof(DeploymentOptions.Name)]!.GetValue<string>();
        Change(entries => entries.Where(e => Name(e) != name).Append(spec).ToList(), removed => removed.Where(r => r != name).ToList());
    }

    /// <summary>Records that <paramref name="name"/> is no longer served; throws, recording nothing, if the file cannot be written.</summary>
    public void RecordRemove(string name) =>
        Change(entries => entries.Where(e => Name(e) != name).ToList(),
            removed => _configured.Contains(name) && !removed.Contains(name) ? [.. removed, name] : removed);

    private void Change(Func<List<JsonObject>, List<JsonObject>> entries, Func<List<string>, List<string>> removed)
    {
        lock (_lock)
        {
            if (_path is null) return;
            var (newEntries, newRemoved) = (entries(_entries), removed(_removed));
            Write(_path, newEntries, newRemoved);
            (_entries, _removed) = (newEntries, newRemoved);
        }
    }

    private static string Name(JsonObject entry) => entry[nameof(DeploymentOptions.Name)]!.GetValue<string>();

    private static void Write(string path, List<JsonObject> entries, List<string> removed)
    {
        var document = new JsonObject
        {
            ["Deployments"] = new JsonArray([.. entries.Select(e => (JsonNode)e.DeepClone())]),
            ["Removed"] = new JsonArray([.. removed.Select(r => (JsonNode)JsonValue.Create(r))]),
        };
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, document, new JsonSerializerOptions { WriteIndented = true });
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // The write failed already; that is the error to report.
            }
            throw new RuntimeDeploymentsFileException($"cannot write {LogitServerOptions.Section}:RuntimeDeploymentsFile {path}: {e.Message}", e);
        }
    }

    /// <summary>The file's entries (each a valid deployment) and removed names; anything else in it stops start-up naming the file.</summary>
    private static (List<JsonObject> Entries, List<string> Removed) Read(string path)
    {
        string Problem(string what) => $"{LogitServerOptions.Section}:RuntimeDeploymentsFile {path}: {what}";
        JsonObject document;
        try
        {
            document = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DeploymentConfigurationException(Problem("it must hold one JSON object."));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new DeploymentConfigurationException(Problem(e.Message), e);
        }
        if (document.Select(p => p.Key).FirstOrDefault(k => k is not ("Deployments" or "Removed")) is { } unknown)
            throw new DeploymentConfigurationException(Problem($"unknown key '{unknown}' (it holds Deployments and Removed)."));

        var entries = new List<JsonObject>();
        var deployments = document["Deployments"] as JsonArray ?? (document["Deployments"] is null ? [] : throw new DeploymentConfigurationException(Problem("Deployments must be a list.")));
        for (var i = 0; i < deployments.Count; i++)
        {
            if (deployments[i] is not JsonObject entry) throw new DeploymentConfigurationException(Problem($"Deployments[{i}] must be an object."));
            DeploymentOptions d;
            try
            {
                d = DeploymentSpec.Read(entry);
            }
            catch (DeploymentConfigurationException e)
            {
                throw new DeploymentConfigurationException(Problem($"Deployments[{i}]: {e.Message}"), e);
            }
            if (LogitServerOptionsValidator.DeploymentProblem(d) is { } problem) throw new DeploymentConfigurationException(Problem(problem));
            if (entries.Any(e => Name(e) == d.Name)) throw new DeploymentConfigurationException(Problem($"deployment '{d.Name}' is listed twice."));
            entries.Add(DeploymentSpec.Write(d));
        }
        var removed = document["Removed"] as JsonArray ?? (document["Removed"] is null ? [] : throw new DeploymentConfigurationException(Problem("Removed must be a list of names.")));
        var names = new List<string>();
        foreach (var item in removed)
        {
            if (item is not JsonValue value || !value.TryGetValue<string>(out var name)) throw new DeploymentConfigurationException(Problem("Removed must be a list of names."));
            names.Add(name);
        }
        return (entries, names);
    }
}
