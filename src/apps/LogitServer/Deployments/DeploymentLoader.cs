using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.LogitServer.Engine;
using Uld.Tokenization;

namespace Uld.LogitServer.Deployments;

/// <summary>A deployment whose sessions are open, with the sha256 of each role's ONNX file as it was loaded.</summary>
public sealed record LoadedDeployment(Deployment Deployment, IReadOnlyDictionary<string, string> ModelSha256);

/// <summary>
/// Opens and checks one deployment whose settings <see cref="LogitServerOptionsValidator"/> already accepted: file
/// hashes, ONNX I/O, the shared vocabulary of a ULD pair or offset trio, the chat template, the α default. The same
/// code loads the configured deployments at start-up and the admin API's at run time, so both are held to the same checks.
/// </summary>
public static class DeploymentLoader
{
    public static LoadedDeployment Load(DeploymentOptions d, LogitServerOptions o, ThreadingPlan plan, ModelSessionCache sessions)
    {
        ModelDirectory Open(string path)
        {
            try
            {
                return ModelDirectory.Open(path, verifyHashes: !o.SkipHashCheck);
            }
            catch (ModelFormatException e)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
            }
        }

        var (uld, offset) = (d.Kind == DeploymentKind.Uld, d.Kind == DeploymentKind.Offset);
        var baseDir = Open((uld || offset ? d.Base : d.Model)!);
        // ULD: one Assistant, or several (each with its weight); roles "assistant", "assistant.1", "assistant.2", ….
        var assistants = !uld ? []
            : d.Assistants is { } list ? list.Select((a, i) => (Role: AssistantRole(i), Dir: Open(a.Path), Weight: (float)a.Alpha)).ToList()
            : [(Role: AssistantRole(0), Dir: Open(d.Assistant!), Weight: 1f)];
        var assistantDir = assistants.Count > 0 ? assistants[0].Dir : null;
        var (referenceDir, unlearnedDir) = offset ? (Open(d.Reference!), Open(d.Unlearned!)) : (null, null);
        // Logits are added token by token, so every model must number the vocabulary the same way.
        foreach (var (role, dir) in assistants.Select(a => (a.Role, (ModelDirectory?)a.Dir)).Concat([("reference", referenceDir), ("unlearned", unlearnedDir)]))
        {
            if (dir is not null) CheckSharedVocabulary(d, baseDir, role, dir);
        }

        ModelTokenizer tokenizer;
        ChatTemplate template;
        try
        {
            (tokenizer, template) = (ModelTokenizer.Load(baseDir.Root), ChatTemplate.Load(baseDir.Root));
            // A template that parses but cannot render even one user turn would fail every chat request: refuse it now.
            template.Render([("user", "Hello")]);
        }
        catch (ModelFormatException e)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': a single user message: {e.Message}", e);
        }

        var provider = ExecutionProviderOf(d, o);
        var fused = uld && !string.IsNullOrWhiteSpace(d.Fused);
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        ModelSessionLease Session(string onnxPath, string contentHash, long vocab, bool partOfPair)
        {
            ModelSessionLease lease;
            try
            {
                lease = sessions.Acquire(onnxPath, plan.SessionFor(d, partOfPair, provider, WeightBytes(onnxPath)), contentHash);
            }
            catch (ExecutionProviderUnavailableException e)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or FileNotFoundException)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': cannot load {onnxPath}: {e.Message}", e);
            }
            if (lease.Model.Vocab == vocab) return lease;
            lease.Dispose();
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {onnxPath} has vocabulary {lease.Model.Vocab}, config.json says {vocab}.");
        }
        ModelSessionLease DirectorySession(string role, ModelDirectory dir, bool partOfPair) =>
            Session(dir.OnnxPath, hashes[role] = OnnxSha256(dir), dir.Config.VocabSize, partOfPair);

        var leases = new List<ModelSessionLease>();
        try
        {
            // A two-session pair or an offset trio runs its sessions side by side (ThreadingPlan), so each is part of a pair.
            ModelSessionLease baseSession;
            if (fused)
            {
                (hashes["base"], hashes["assistant"]) = (OnnxSha256(baseDir), OnnxSha256(assistantDir!));
                var fusedPath = Path.GetFullPath(d.Fused!);
                baseSession = FusedUldGraph.Load(d, baseDir, assistantDir!,
                    path => Session(path, hashes["fused"] = FileHash.Sha256(fusedPath), baseDir.Config.VocabSize, partOfPair: false));
            }
            else
            {
                baseSession = DirectorySession(uld || offset ? "base" : "model", baseDir, partOfPair: uld || offset);
            }
            leases.Add(baseSession);
            ModelSessionLease? Companion(string role, ModelDirectory? dir)
            {
                if (dir is null) return null;
                var lease = DirectorySession(role, dir, partOfPair: true);
                leases.Add(lease);
                return lease;
            }

            var deployment = new Deployment
            {
                Options = d,
                BaseDirectory = baseDir,
                BaseSession = baseSession,
                AssistantSessions = fused ? [] : assistants.Select(a => Companion(a.Role, a.Dir)!).ToList(),
                AssistantWeights = fused ? [] : assistants.Select(a => a.Weight).ToList(),
                ReferenceSession = Companion("reference", referenceDir),
                UnlearnedSession = Companion("unlearned", unlearnedDir),
                Tokenizer = tokenizer,
                ChatTemplate = template,
                AlphaDefault = uld ? AlphaDefaultOf(d, assistants.Select(a => a.Dir).ToList()) : 0,
            };
            return new LoadedDeployment(deployment, hashes);
        }
        catch
        {
            foreach (var lease in leases) lease.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The sha256 of a directory's ONNX file: the manifest's, which opening the directory checked against the file
    /// (unless <see cref="LogitServerOptions.SkipHashCheck"/>, when it is the recorded one); hashed here if the manifest lists none.
    /// </summary>
    private static string OnnxSha256(ModelDirectory dir) =>
        dir.Manifest.Files.GetValueOrDefault(ModelDirectory.OnnxFile)?.ToLowerInvariant() ?? FileHash.Sha256(dir.OnnxPath);

    /// <summary>The model_sha256 role of the i-th assistant: "assistant", then "assistant.1", "assistant.2", ….</summary>
    public static string AssistantRole(int index) => index == 0 ? "assistant" : $"assistant.{index}";

    /// <summary>
    /// The configured α, or the one the assistants were calibrated to (for this rule and relative-top default), or
    /// <see cref="DeploymentOptions.FallbackAlpha"/>; outside [AlphaMin, AlphaMax] it is a configuration error. Several
    /// assistants have a calibrated α only when every one of them carries the same one: each was calibrated alone, and
    /// what their weighted sum needs is not known without calibrating the sum (docs/DESIGN.md, *The ULD decode rule*).
    /// </summary>
    private static double AlphaDefaultOf(DeploymentOptions d, IReadOnlyList<ModelDirectory> assistants)
    {
        var each = assistants.Select(a => CalibratedAlpha(d, a)).Distinct().ToList();
        var calibrated = each.Count == 1 ? each[0] : null;
        var alpha = d.AlphaDefault ?? calibrated ?? DeploymentOptions.FallbackAlpha;
        if (alpha < d.AlphaMin || alpha > d.AlphaMax)
        {
            var source = d.AlphaDefault is not null ? "AlphaDefault"
                : calibrated is not null ? $"the {(assistants.Count > 1 ? "assistants'" : "assistant's")} calibrated α {alpha}" : $"the fallback α {alpha}";
            throw new DeploymentConfigurationException(
                $"deployment '{d.Name}': {source} is outside [AlphaMin {d.AlphaMin}, AlphaMax {d.AlphaMax}]; set AlphaDefault or widen the bounds.");
        }
        return alpha;
    }

    /// <summary>The α an assistant's manifest recommends for this deployment's rule and relative-top default, if any.</summary>
    private static double? CalibratedAlpha(DeploymentOptions d, ModelDirectory assistant)
    {
        var calibration = assistant.Manifest.Metrics?["calibration"];
        return calibration?["recommended_alpha"]?.GetValue<double>() is { } a
            && string.Equals(calibration["rule"]?.GetValue<string>(), d.DecodeRule.ToString(), StringComparison.OrdinalIgnoreCase)
            && calibration["relative_top"]?.GetValue<double>() == d.RelativeTopDefault ? a : null;
    }

    private static void CheckSharedVocabulary(DeploymentOptions d, ModelDirectory baseDir, string role, ModelDirectory other)
    {
        var (baseHash, otherHash) = (baseDir.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile),
            other.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile));
        if (baseHash is null || baseHash != otherHash)
            throw new DeploymentConfigurationException(
                $"deployment '{d.Name}': base and {role} do not share a vocabulary (tokenizer.json sha256 {baseHash} vs {otherHash}).");
        if (baseDir.Config.VocabSize != other.Config.VocabSize)
            throw new DeploymentConfigurationException($"deployment '{d.Name}': base vocab_size {baseDir.Config.VocabSize} ≠ {role} {other.Config.VocabSize}.");
    }

    /// <summary>The ONNX file and its external-data file (large exports), if any.</summary>
    private static long WeightBytes(string onnxPath)
    {
        var data = onnxPath + "_data";
        return new FileInfo(onnxPath).Length + (File.Exists(data) ? new FileInfo(data).Length : 0);
    }

    private static ExecutionProvider ExecutionProviderOf(DeploymentOptions d, LogitServerOptions o) => (d.ExecutionProvider ?? o.ExecutionProvider).ToLowerInvariant() switch
    {
        "cpu" => ExecutionProvider.Cpu,
        "cuda" => ExecutionProvider.Cuda,
        var other => throw new DeploymentConfigurationException($"deployment '{d.Name}': ExecutionProvider must be cpu or cuda; got '{other}'."),
    };

    /// <summary>
    /// The ONNX files the deployments will load in separate sessions (fused graphs aside), read without checking
    /// hashes: only to find the weights they share. A directory that cannot be opened is left to <see cref="Load"/> to report.
    /// </summary>
    public static IEnumerable<string> ModelFiles(IEnumerable<DeploymentOptions> deployments)
    {
        foreach (var d in deployments.Where(d => string.IsNullOrWhiteSpace(d.Fused)))
        {
            foreach (var root in new[] { d.Model, d.Base, d.Assistant, d.Reference, d.Unlearned }.Concat(d.Assistants?.Select(a => a.Path) ?? []))
            {
                if (string.IsNullOrWhiteSpace(root)) continue;
                string? path;
                try
                {
                    path = ModelDirectory.Open(root, verifyHashes: false).OnnxPath;
                }
                catch (Exception e) when (e is ModelFormatException or IOException or UnauthorizedAccessException)
                {
                    path = null;
                }
                if (path is not null && File.Exists(path)) yield return path;
            }
        }
    }
}
