using System.Globalization;
using System.Text.Json.Nodes;
using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Bench.LlamaCpp;

/// <summary>
/// The llama.cpp tools directory (../shared/tools/llamacpp: node-llama-cpp scripts that convert a llama2.c checkpoint
/// to GGUF and time llama.cpp's prebuilt CPU build), ready to run: Node.js ≥ 20 on PATH and its npm packages installed
/// (<c>npm ci</c> when node_modules is missing, as the directory's README says). Every script runs as a node child process.
/// </summary>
public sealed class LlamaCppTools
{
    public const string DefaultDirectory = "../shared/tools/llamacpp";

    private static readonly string[] Scripts = ["llama2c-to-gguf.mjs", "speed.mjs", "batch.mjs", "prefill.mjs"];
    private static readonly string[] InstallArguments = ["ci", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund"];
    /// <summary>A stuck script (a wedged thread pool, a lost child) stops the benchmark instead of hanging it.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromHours(2);

    private LlamaCppTools(string directory, string nodeVersion, string packageVersion) =>
        (Directory, NodeVersion, PackageVersion) = (directory, nodeVersion, packageVersion);

    public string Directory { get; }
    public string NodeVersion { get; }
    /// <summary>The installed node-llama-cpp version (which llama.cpp build is measured).</summary>
    public string PackageVersion { get; }

    /// <summary>
    /// Checks the directory and Node.js, installs the npm packages if node_modules lacks them (reported through
    /// <paramref name="status"/>), and fails with one line saying what is missing.
    /// </summary>
    public static LlamaCppTools Open(string directory, Action<string>? status = null)
    {
        var dir = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(dir))
            throw new UserErrorException($"llama.cpp tools: {dir} does not exist (--llamacpp DIR, default {DefaultDirectory} beside the repository).");
        foreach (var script in Scripts.Append("package-lock.json"))
            if (!File.Exists(Path.Combine(dir, script))) throw new UserErrorException($"llama.cpp tools: {dir} has no {script}; is it the project's tools/llamacpp?");

        var nodeVersion = NodeVersionOnPath();
        var package = Path.Combine(dir, "node_modules", "node-llama-cpp", "package.json");
        if (!File.Exists(package))
        {
            status?.Invoke($"llama.cpp: installing node-llama-cpp into {dir}/node_modules (npm {string.Join(' ', InstallArguments)}; about 83 MB)");
            ChildOutput install;
            try
            {
                install = ChildCommand.Execute("npm", InstallArguments, workingDirectory: dir, timeout: TimeSpan.FromMinutes(30));
            }
            catch (UserErrorException e)
            {
                throw new UserErrorException($"llama.cpp tools need npm (Node.js ≥ 20) to install node-llama-cpp: {e.Message}");
            }
            if (install.ExitCode != 0 || !File.Exists(package))
                throw new UserErrorException($"llama.cpp tools: npm ci in {dir} failed (exit {install.ExitCode}): {install.LastLine}");
        }
        var version = JsonNode.Parse(File.ReadAllText(package))?["version"]?.GetValue<string>() ?? "unknown";
        return new LlamaCppTools(dir, nodeVersion, version);
    }

    /// <summary>Runs <c>node SCRIPT ARGS</c> in the tools directory; a failure is one line with the script's last words.</summary>
    public string RunScript(string script, IReadOnlyList<string> args)
    {
        var output = ChildCommand.Execute("node", [Path.Combine(Directory, script), .. args], workingDirectory: Directory, timeout: ScriptTimeout);
        if (output.ExitCode != 0)
            throw new UserErrorException($"llama.cpp {script} {string.Join(' ', args.Skip(1))} failed (exit {output.ExitCode}): {output.LastLine}");
        return output.Stdout;
    }

    private static string NodeVersionOnPath()
    {
        ChildOutput output;
        try
        {
            output = ChildCommand.Execute("node", ["--version"], timeout: TimeSpan.FromMinutes(1));
        }
        catch (UserErrorException e)
        {
            throw new UserErrorException($"llama.cpp tools need Node.js ≥ 20 on PATH: {e.Message}");
        }
        var version = output.Stdout.Trim();
        var major = version.TrimStart('v').Split('.')[0];
        if (output.ExitCode != 0 || !int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out var m) || m < 20)
            throw new UserErrorException($"llama.cpp tools need Node.js ≥ 20; node --version says \"{version}{output.Stderr.Trim()}\".");
        return version;
    }
}
