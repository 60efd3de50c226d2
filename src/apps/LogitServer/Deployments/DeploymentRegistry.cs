using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Inference;
using Uld.LogitServer.Engine;
using Uld.Tokenization;

namespace Uld.LogitServer.Deployments;

/// <summary>Thrown at start-up when the configuration cannot be served; the message says which key and why.</summary>
public sealed class DeploymentConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads and checks every configured deployment at start-up (file hashes, ONNX I/O, shared vocabulary of a ULD pair)
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
        Sessions = new ModelSessionCache();
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

        var uld = d.Kind == DeploymentKind.Uld;
        var baseDir = Open((uld ? d.Base : d.Model)!);
        var assistantDir = uld ? Open(d.Assistant!) : null;
        if (assistantDir is not null)
        {
            var (baseHash, assistantHash) = (baseDir.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile),
                assistantDir.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile));
            if (baseHash is null || baseHash != assistantHash)
                throw new DeploymentConfigurationException(
                    $"deployment '{d.Name}': base and assistant do not share a vocabulary (tokenizer.json sha256 {baseHash} vs {assistantHash}).");
            if (baseDir.Config.VocabSize != assistantDir.Config.VocabSize)
                throw new DeploymentConfigurationException($"deployment '{d.Name}': base vocab_size {baseDir.Config.VocabSize} ≠ assistant {assistantDir.Config.VocabSize}.");
        }

        ModelTokenizer tokenizer;
        ChatTemplate template;
        try
        {
            (tokenizer, template) = (ModelTokenizer.Load(baseDir.Root), ChatTemplate.Load(baseDir.Root));
        }
        catch (ModelFormatException e)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
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

        var baseSession = fused
            ? FusedUldGraph.Load(d, baseDir, assistantDir!, path => Session(path, baseDir, partOfPair: false))
            : Session(baseDir.OnnxPath, baseDir, partOfPair: uld);
        try
        {
            return new Deployment
            {
                Options = d,
                BaseDirectory = baseDir,
                BaseSession = baseSession,
                AssistantSession = assistantDir is null || fused ? null : Session(assistantDir.OnnxPath, assistantDir, partOfPair: true),
                Tokenizer = tokenizer,
                ChatTemplate = template,
            };
        }
        catch
        {
            baseSession.Dispose();
            throw;
        }
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

    public void Dispose()
    {
        foreach (var d in _deployments.Values) d.Dispose();
        _deployments.Clear();
    }
}
