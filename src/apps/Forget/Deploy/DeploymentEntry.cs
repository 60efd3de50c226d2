using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Forget.Configuration;

namespace Uld.Forget.Deploy;

/// <summary>
/// A LogitServer deployments.json entry as the service reads and writes it (keys as in deployments.json, looked up
/// without regard to case): how a request's assistant is added to it (docs/FORGET-REQUESTS.md, *Deploying*) and
/// whether two entries say the same thing.
/// </summary>
public static class DeploymentEntry
{
    /// <summary>
    /// The entry that serves <paramref name="assistant"/> beside what <paramref name="current"/> serves: a ULD entry
    /// gets it in its <c>Assistants</c> list (Summed), or in place of the service's previous assistant (Union) — a list
    /// of one assistant at weight 1 is written as the classic <c>Assistant</c>; a plain
    /// entry becomes a ULD entry over its model with the deployment's <c>UldSettings</c> — and, unless those set them, an
    /// α floor at the assistant's calibrated α (so no caller can serve it weaker than calibrated) and a ceiling of at
    /// least 4. A fused graph is for one pair only, so <c>Fused</c> is dropped.
    /// </summary>
    /// <param name="calibratedAlpha">The new assistant's own calibrated α (its manifest), when it has one.</param>
    /// <param name="servingAlpha">
    /// The α the ULD deployment serves by default now. LogitServer defaults a sum of assistants to α 0.8 unless they all
    /// carry the same calibrated α (docs/DESIGN.md, *The ULD decode rule*), so an entry that becomes a sum without an
    /// <c>AlphaDefault</c> gets this one: the deployment keeps serving at the strength it served before.
    /// </param>
    /// <param name="ownAssistantsRoot">Where the service's assistants live: under Union, those are replaced.</param>
    public static JsonObject WithAssistant(JsonObject current, string name, string assistant, double weight, double? calibratedAlpha,
        ForgetDeploymentOptions options, string ownAssistantsRoot, double? servingAlpha = null)
    {
        var entry = (JsonObject)current.DeepClone();
        var kind = Text(entry, "Kind") ?? "Plain";
        JsonArray assistants;
        if (kind.Equals("Plain", StringComparison.OrdinalIgnoreCase))
        {
            var model = Text(entry, "Model") ?? throw new InvalidOperationException($"the plain deployment '{name}' has no Model.");
            Remove(entry, "Model");
            Set(entry, "Kind", "Uld");
            Set(entry, "Base", model);
            foreach (var (key, value) in options.UldSettings) Set(entry, key, Value(value));
            if (calibratedAlpha is > 0 and var alpha)
            {
                if (Get(entry, "AlphaMin") is null) Set(entry, "AlphaMin", Math.Floor(alpha * 100) / 100);
                if (Get(entry, "AlphaMax") is null) Set(entry, "AlphaMax", Math.Max(4, Math.Ceiling(2 * alpha)));
            }
            assistants = [];
        }
        else if (kind.Equals("Uld", StringComparison.OrdinalIgnoreCase))
        {
            assistants = Get(entry, "Assistants") is JsonArray list ? (JsonArray)list.DeepClone()
                : Text(entry, "Assistant") is { } single ? [new JsonObject { ["Path"] = single, ["Alpha"] = 1.0 }]
                : throw new InvalidOperationException($"the ULD deployment '{name}' names no assistant.");
            Remove(entry, "Assistant");
            Remove(entry, "Fused");
            if (options.Combination == Combination.Union)
            {
                var root = ownAssistantsRoot.TrimEnd('/') + "/";
                foreach (var own in assistants.OfType<JsonObject>().Where(a => Text(a, "Path") is { } p && p.StartsWith(root, StringComparison.Ordinal)).ToList())
                    assistants.Remove(own);
            }
        }
        else
        {
            throw new InvalidOperationException($"the deployment '{name}' is of kind {kind}; forget requests change Plain and Uld deployments.");
        }
        assistants.Add(new JsonObject { ["Path"] = assistant, ["Alpha"] = Math.Round(weight, 4) });
        // One assistant at weight 1 is the classic entry every LogitServer reads; a list only where there is a sum.
        if (assistants is [JsonObject only] && Get(only, "Alpha") is JsonValue w && w.GetValue<double>() == 1 && Text(only, "Path") is { } path)
        {
            Set(entry, "Assistant", path);
        }
        else
        {
            Set(entry, "Assistants", assistants);
            if (Get(entry, "AlphaDefault") is null && servingAlpha is > 0 and var alpha) Set(entry, "AlphaDefault", alpha);
        }
        Set(entry, "Name", name);
        return entry;
    }

    /// <summary>The same entry under another name (the gate's staging copy).</summary>
    public static JsonObject Renamed(JsonObject entry, string name)
    {
        var copy = (JsonObject)entry.DeepClone();
        Set(copy, "Name", name);
        return copy;
    }

    /// <summary>
    /// Whether two entries configure the same deployment: keys compared without regard to case or order, numbers by
    /// value (<c>1</c> = <c>1.0</c>), the name left out (a replica may or may not echo it).
    /// </summary>
    public static bool Same(JsonNode? a, JsonNode? b) => JsonNode.DeepEquals(Normalize(a, top: true), Normalize(b, top: true));

    private static JsonNode? Normalize(JsonNode? node, bool top = false) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => !(top && p.Key.Equals("Name", StringComparison.OrdinalIgnoreCase)))
            .OrderBy(p => p.Key.ToLowerInvariant(), StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key.ToLowerInvariant(), Normalize(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(e => Normalize(e))]),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => JsonValue.Create(v.GetValue<double>()),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
        _ => node?.DeepClone(),
    };

    /// <summary>A configured value as JSON: a number where it reads as one, else text.</summary>
    private static JsonNode Value(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d) : JsonValue.Create(text);

    private static string? Key(JsonObject entry, string key) => entry.Select(p => p.Key).FirstOrDefault(k => k.Equals(key, StringComparison.OrdinalIgnoreCase));

    public static JsonNode? Get(JsonObject entry, string key) => Key(entry, key) is { } k ? entry[k] : null;

    public static string? Text(JsonObject entry, string key) => Get(entry, key) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static void Remove(JsonObject entry, string key)
    {
        if (Key(entry, key) is { } k) entry.Remove(k);
    }

    private static void Set(JsonObject entry, string key, JsonNode value)
    {
        Remove(entry, key);
        entry[key] = value;
    }
}
