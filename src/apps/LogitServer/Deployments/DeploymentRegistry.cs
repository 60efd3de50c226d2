using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;
using Uld.Contracts.OpenAi;
using Uld.Inference;
using Uld.Tokenization;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

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

    public DeploymentRegistry(IOptions<LogitServerOptions> options, ILogger<DeploymentRegistry> logger)
    {
        var o = options.Value;
        Sessions = new ModelSessionCache(() => SessionOptionsFor(o, logger));
        try
        {
            foreach (var d in o.Deployments)
            {
                var deployment = Load(d, o, Sessions);
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

    private static Deployment Load(DeploymentOptions d, LogitServerOptions o, ModelSessionCache sessions)
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

        var baseSession = Session(d, sessions, baseDir);
        try
        {
            return new Deployment
            {
                Options = d,
                BaseDirectory = baseDir,
                BaseSession = baseSession,
                AssistantSession = assistantDir is null ? null : Session(d, sessions, assistantDir),
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

    private static ModelSessionLease Session(DeploymentOptions d, ModelSessionCache sessions, ModelDirectory dir)
    {
        ModelSessionLease lease;
        try
        {
            lease = sessions.Acquire(dir.OnnxPath);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or FileNotFoundException)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': cannot load {dir.OnnxPath}: {e.Message}", e);
        }
        if (lease.Model.Vocab == dir.Config.VocabSize) return lease;
        lease.Dispose();
        throw new DeploymentConfigurationException($"deployment '{d.Name}': {dir.OnnxPath} has vocabulary {lease.Model.Vocab}, config.json says {dir.Config.VocabSize}.");
    }

    private static SessionOptions SessionOptionsFor(LogitServerOptions o, ILogger logger)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (o.IntraOpThreads > 0) options.IntraOpNumThreads = o.IntraOpThreads;
        if (string.Equals(o.ExecutionProvider, "cuda", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                options.AppendExecutionProvider_CUDA();
                logger.LogInformation("Using the CUDA execution provider");
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                logger.LogWarning("CUDA execution provider requested but not available ({Reason}); running on CPU", e.Message);
            }
        }
        return options;
    }

    public void Dispose()
    {
        foreach (var d in _deployments.Values) d.Dispose();
        _deployments.Clear();
    }
}
