using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Inference;
using Uld.Inference.Weights;
using Uld.LogitServer.Engine;
using Uld.Tokenization;

namespace Uld.LogitServer.Deployments;

/// <summary>Thrown at start-up when the configuration cannot be served; the message says which key and why.</summary>
public sealed class DeploymentConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads and checks every configured deployment at start-up (file hashes, ONNX I/O, shared vocabulary of a ULD pair or offset trio)
/// and then answers "which deployment is this model name". The settings themselves were already checked by
/// <see cref="LogitServerOptionsValidator"/>.
/// </summary>
public sealed class DeploymentRegistry : IDisposable
{
    private readonly Dictionary<string, Deployment> _deployments = new(StringComparer.Ordinal);

    public DeploymentRegistry(IOptions<LogitServerOptions> options, ThreadingPlan plan, ILogger<DeploymentRegistry> logger)
    {
        var o = options.Value;
        plan.Log(logger);
        var shared = SharedWeights.Plan(ModelFiles(o));
        Sessions = new ModelSessionCache(shared);
        if (shared.Count > 0)
            logger.LogInformation("Weights shared between model files: {Tensors} tensors, {MiB} MiB loaded once instead of twice or more", shared.Count, shared.SavedBytes >> 20);
        try
        {
            foreach (var d in o.Deployments)
            {
                var deployment = Load(d, o, plan, Sessions);
                _deployments[d.Name] = deployment;
                logger.LogInformation("Deployment {Deployment} ready: {Kind}, vocabulary {Vocab}, context {Context}",
                    d.Name, d.Kind, deployment.Tokenizer.VocabSize, deployment.ContextLength);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The sessions the deployments share.</summary>
    public ModelSessionCache Sessions { get; }

    public IReadOnlyCollection<Deployment> All => _deployments.Values;

    /// <summary>The deployment a request's <c>model</c> names: 400 when it is missing, 404 when nothing is called that.</summary>
    public Deployment Resolve(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) throw OpenAiException.InvalidRequest("'model' is required.", "model");
        return _deployments.GetValueOrDefault(model) ?? throw OpenAiException.ModelNotFound(model);
    }

    private static Deployment Load(DeploymentOptions d, LogitServerOptions o, ThreadingPlan plan, ModelSessionCache sessions)
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
        var assistantDir = uld ? Open(d.Assistant!) : null;
        var (referenceDir, unlearnedDir) = offset ? (Open(d.Reference!), Open(d.Unlearned!)) : (null, null);
        // Logits are added token by token, so every model must number the vocabulary the same way.
        foreach (var (role, dir) in new[] { ("assistant", assistantDir), ("reference", referenceDir), ("unlearned", unlearnedDir) })
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
        ModelSessionLease Session(string onnxPath, ModelDirectory dir, bool partOfPair)
        {
            ModelSessionLease lease;
            try
            {
                lease = sessions.Acquire(onnxPath, plan.SessionFor(d, partOfPair, provider, WeightBytes(onnxPath)));
            }
            catch (ExecutionProviderUnavailableException e)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or FileNotFoundException)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': cannot load {onnxPath}: {e.Message}", e);
            }
            if (lease.Model.Vocab == dir.Config.VocabSize) return lease;
            lease.Dispose();
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {onnxPath} has vocabulary {lease.Model.Vocab}, config.json says {dir.Config.VocabSize}.");
        }

        // A two-session pair or an offset trio runs its sessions side by side (ThreadingPlan), so each is part of a pair.
        var baseSession = fused
            ? FusedUldGraph.Load(d, baseDir, assistantDir!, path => Session(path, baseDir, partOfPair: false))
            : Session(baseDir.OnnxPath, baseDir, partOfPair: uld || offset);
        var leases = new List<ModelSessionLease> { baseSession };
        ModelSessionLease? Companion(ModelDirectory? dir)
        {
            if (dir is null) return null;
            var lease = Session(dir.OnnxPath, dir, partOfPair: true);
            leases.Add(lease);
            return lease;
        }
        try
        {
            return new Deployment
            {
                Options = d,
                BaseDirectory = baseDir,
                BaseSession = baseSession,
                AssistantSession = fused ? null : Companion(assistantDir),
                ReferenceSession = Companion(referenceDir),
                UnlearnedSession = Companion(unlearnedDir),
                Tokenizer = tokenizer,
                ChatTemplate = template,
                AlphaDefault = uld ? AlphaDefaultOf(d, assistantDir!) : 0,
            };
        }
        catch
        {
            foreach (var lease in leases) lease.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The configured α, or the one the assistant was calibrated to (for this rule and relative-top default), or
    /// <see cref="DeploymentOptions.FallbackAlpha"/>; outside [AlphaMin, AlphaMax] it is a configuration error.
    /// </summary>
    private static double AlphaDefaultOf(DeploymentOptions d, ModelDirectory assistant)
    {
        var calibration = assistant.Manifest.Metrics?["calibration"];
        double? calibrated = calibration?["recommended_alpha"]?.GetValue<double>() is { } a
            && string.Equals(calibration["rule"]?.GetValue<string>(), d.DecodeRule.ToString(), StringComparison.OrdinalIgnoreCase)
            && calibration["relative_top"]?.GetValue<double>() == d.RelativeTopDefault ? a : null;
        var alpha = d.AlphaDefault ?? calibrated ?? DeploymentOptions.FallbackAlpha;
        if (alpha < d.AlphaMin || alpha > d.AlphaMax)
        {
            var source = d.AlphaDefault is not null ? "AlphaDefault" : calibrated is not null ? $"the assistant's calibrated α {alpha}" : $"the fallback α {alpha}";
            throw new DeploymentConfigurationException(
                $"deployment '{d.Name}': {source} is outside [AlphaMin {d.AlphaMin}, AlphaMax {d.AlphaMax}]; set AlphaDefault or widen the bounds.");
        }
        return alpha;
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
    private static IEnumerable<string> ModelFiles(LogitServerOptions o)
    {
        foreach (var d in o.Deployments.Where(d => string.IsNullOrWhiteSpace(d.Fused)))
        {
            foreach (var root in new[] { d.Model, d.Base, d.Assistant, d.Reference, d.Unlearned })
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

    public void Dispose()
    {
        foreach (var d in _deployments.Values) d.Dispose();
        _deployments.Clear();
        Sessions.Dispose();
    }
}
