using Uld.Contracts.OpenAi;

namespace Uld.Forget.Api;

/// <summary>
/// Decides whether a request may name a file: only regular files whose real location — every symbolic link resolved,
/// <c>..</c> and <c>.</c> removed — is inside one of the operator's <c>AllowedDataRoots</c> (themselves resolved the same
/// way). A link inside a root that points outside it is refused, as is a root's sibling with the same prefix.
/// </summary>
public sealed class AllowedDataPaths(IReadOnlyList<string> roots, long maxFileBytes)
{
    private const int MaxLinks = 32;
    private readonly IReadOnlyList<string> _roots = roots.Select(r => RealPath(r) is { } real ? real.TrimEnd('/') + "/" : null).OfType<string>().ToList();

    /// <summary>The real path of an allowed file, or a 400 naming <paramref name="param"/>.</summary>
    public string Resolve(string param, string path)
    {
        if (_roots.Count == 0)
            throw OpenAiException.InvalidRequest($"'{param}': this service accepts data inline only (no AllowedDataRoots are configured).", param, "path_not_allowed");
        if (path.Length == 0 || path.Contains('\0') || !Path.IsPathFullyQualified(path))
            throw OpenAiException.InvalidRequest($"'{param}.path' must be an absolute path.", param, "invalid_path");
        var real = RealPath(path);
        if (real is null || !_roots.Any(root => real.StartsWith(root, StringComparison.Ordinal)))
            throw OpenAiException.InvalidRequest($"'{param}.path' is not a file under a directory this service allows.", param, "path_not_allowed");
        var info = new FileInfo(real);
        if (!info.Exists) throw OpenAiException.InvalidRequest($"'{param}.path' does not exist or is not a regular file.", param, "file_not_found");
        if (info.Length > maxFileBytes)
            throw OpenAiException.InvalidRequest($"'{param}.path' is {info.Length:N0} bytes; at most {maxFileBytes:N0} are accepted.", param, "file_too_large");
        return real;
    }

    /// <summary>The path with every link resolved, or null when a component does not exist or links loop.</summary>
    public static string? RealPath(string path)
    {
        var pending = new Stack<string>(Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = "/";
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..") { current = Path.GetDirectoryName(current.TrimEnd('/')) ?? "/"; continue; }
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists) return null;
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxLinks) return null;
                // A relative target is relative to the link's directory; its parts are walked like the rest.
                var absolute = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
                foreach (var p in Path.GetFullPath(absolute).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
                current = "/";
                continue;
            }
            current = next;
        }
        return current;
    }
}
