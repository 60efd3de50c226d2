using System.Text;

namespace Uld.Web;

/// <summary>
/// <c>--help</c> (<c>-h</c>, <c>-?</c>) of a server, laid out as System.CommandLine lays out the CLIs' help so that
/// docs/CLI.md's reference reads alike for all six apps: what the server is, its options (<c>--config</c>, <c>--urls</c>,
/// any setting as <c>--Section:Key=value</c>), the <c>health</c> command and the configuration sections with the page
/// that documents each. A server's arguments are configuration keys, not a command tree, so this is checked before the
/// host is built: help never starts a server.
/// </summary>
/// <param name="Executable">e.g. <c>uld-logitserver</c>.</param>
/// <param name="Description">One sentence: what the server is.</param>
/// <param name="Options">Options of this server only (the common ones are added), as (name, what).</param>
/// <param name="Sections">Its configuration sections, as (section, what and where it is documented).</param>
public sealed record ServerUsage(
    string Executable,
    string Description,
    IReadOnlyList<(string Name, string Description)> Options,
    IReadOnlyList<(string Section, string Description)> Sections)
{
    private static readonly string[] HelpNames = ["--help", "-h", "-?"];
    private const string HelpLine = "Show help and usage information";

    /// <summary>Prints the usage and returns 0 when <paramref name="args"/> ask for help; otherwise null and the server starts.</summary>
    public int? TryPrint(string[] args, TextWriter? output = null)
    {
        if (!args.Any(a => HelpNames.Contains(a, StringComparer.Ordinal))) return null;
        (output ?? Console.Out).Write(args.Length > 0 && args[0] == HealthCommand.Name ? HealthText() : Text());
        return 0;
    }

    /// <summary>The server's own help.</summary>
    public string Text()
    {
        var text = new StringBuilder();
        Section(text, "Description:", [(Description, null)]);
        Section(text, "Usage:", [($"{Executable} [command] [options]", null)]);
        Section(text, "Options:",
        [
            ("--config <FILE>", "Add a JSON settings file holding the sections below"),
            ("--urls <URLS>", "Where to listen, ';'-separated (default http://localhost:5000; the container images listen on 8080)"),
            .. Options.Select(o => (o.Name, (string?)o.Description)),
            ("--<Section>:<Key>=<value>", "Any setting of the sections below; as an environment variable <Section>__<Key>=<value>"),
            ("-?, -h, --help", HelpLine),
        ]);
        Section(text, "Commands:", [(HealthCommand.Name, "Ask this container's server for its /health: exit 0 on a 2xx, 1 otherwise (the container health check)")]);
        Section(text, "Configuration:", [.. Sections.Select(s => (s.Section, (string?)s.Description))]);
        return text.ToString();
    }

    /// <summary>The help of <c>health</c>.</summary>
    public string HealthText()
    {
        var text = new StringBuilder();
        Section(text, "Description:",
        [
            ($"Ask this container's server for its /health and print one line: exit 0 on a 2xx, 1 on anything else or no answer within {HealthCommand.Timeout.TotalSeconds:0} s. " +
             "Container health checks run it, since the .NET images have no curl (docs/OPERATIONS.md, *Health and metrics*).", null),
        ]);
        Section(text, "Usage:", [($"{Executable} {HealthCommand.Name} [options]", null)]);
        Section(text, "Options:",
        [
            ("--url <URL>", "The server's base address; /health is appended"),
            ("--urls <URLS>", "The server's addresses, as it was started with; the first is probed. Without either: ASPNETCORE_URLS, DOTNET_URLS, " +
                              "ASPNETCORE_HTTP_PORTS, DOTNET_HTTP_PORTS, else port 8080; a wildcard host is probed on 127.0.0.1"),
            ("-?, -h, --help", HelpLine),
        ]);
        return text.ToString();
    }

    /// <summary>A titled section: one line per item, a second column aligned two spaces past the longest first one.</summary>
    private static void Section(StringBuilder text, string title, IReadOnlyList<(string First, string? Second)> items)
    {
        if (items.Count == 0) return;
        if (text.Length > 0) text.Append('\n');
        text.Append(title).Append('\n');
        var width = items.Where(i => i.Second is not null).Select(i => i.First.Length).DefaultIfEmpty(0).Max();
        foreach (var (first, second) in items)
            text.Append("  ").Append(second is null ? first : first.PadRight(width + 2) + second).Append('\n');
    }
}
