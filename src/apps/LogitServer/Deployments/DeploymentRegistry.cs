using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Inference;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments;

/// <summary>Thrown at start-up when the configured deployments cannot be served; the message says which and why.</summary>
public sealed class DeploymentConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads and validates every configured deployment at start-up (directories, file hashes, ONNX I/O, shared
/// vocabulary of a ULD pair) and then answers "which deployment is this model name".
/// </summary>
public sealed class DeploymentRegistry : IDisposable
{
    private readonly Dictionary<string, Deployment> _deployments = new(StringComparer.Ordinal);

    public DeploymentRegistry(IOptions<LogitServerOptions> options, ThreadingPlan plan, ILogger<DeploymentRegistry> logger)
    {
        var o = options.Value;
        plan.Log(logger);
        if (o.Deployments.Count == 0)
            throw new DeploymentConfigurationException("no deployments are configured (LogitServer:Deployments is empty).");
        try
        {
            foreach (var d in o.Deployments)
            {
                if (string.IsNullOrWhiteSpace(d.Name)) throw new DeploymentConfigurationException("a deployment has no Name.");
                if (_deployments.ContainsKey(d.Name)) throw new DeploymentConfigurationException($"deployment name '{d.Name}' is used twice.");
                _deployments[d.Name] = Load(d, o, plan);
                logger.LogInformation("Deployment {Deployment} ready: {Kind}, vocabulary {Vocab}, context {Context}",
                    d.Name, d.Kind, _deployments[d.Name].Tokenizer.VocabSize, _deployments[d.Name].ContextLength);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IReadOnlyCollection<Deployment> All => _deployments.Values;

    public Deployment? Find(string name) => _deployments.GetValueOrDefault(name);

    private static Deployment Load(DeploymentOptions d, LogitServerOptions o, ThreadingPlan plan)
    {
        string Required(string? path, string key) => string.IsNullOrWhiteSpace(path)
            ? throw new DeploymentConfigurationException($"deployment '{d.Name}' ({d.Kind}) needs {key}.")
            : path;
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

        var baseDir = Open(Required(d.Kind == DeploymentKind.Uld ? d.Base : d.Model, d.Kind == DeploymentKind.Uld ? "Base" : "Model"));
        ModelDirectory? assistantDir = null;
        if (d.Kind == DeploymentKind.Uld)
        {
            assistantDir = Open(Required(d.Assistant, "Assistant"));
            var (baseHash, assistantHash) = (baseDir.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile),
                assistantDir.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile));
            if (baseHash is null || baseHash != assistantHash)
                throw new DeploymentConfigurationException(
                    $"deployment '{d.Name}': base and assistant do not share a vocabulary (tokenizer.json sha256 {baseHash} vs {assistantHash}).");
            if (baseDir.Config.VocabSize != assistantDir.Config.VocabSize)
                throw new DeploymentConfigurationException($"deployment '{d.Name}': base vocab_size {baseDir.Config.VocabSize} ≠ assistant {assistantDir.Config.VocabSize}.");
            if (!(d.AlphaMin <= d.AlphaDefault && d.AlphaDefault <= d.AlphaMax) || d.AlphaMin < 0)
                throw new DeploymentConfigurationException($"deployment '{d.Name}': need 0 ≤ AlphaMin ≤ AlphaDefault ≤ AlphaMax.");
            if (!(d.RelativeTopMin <= d.RelativeTopDefault && d.RelativeTopDefault <= d.RelativeTopMax) || d.RelativeTopMin < 0 || d.RelativeTopMax > 1)
                throw new DeploymentConfigurationException($"deployment '{d.Name}': need 0 ≤ RelativeTopMin ≤ RelativeTopDefault ≤ RelativeTopMax ≤ 1.");
        }

        var provider = ExecutionProviderOf(d, o);
        var fused = d.Kind == DeploymentKind.Uld && !string.IsNullOrWhiteSpace(d.Fused);
        OnnxCausalLm Session(string onnxPath, ModelDirectory dir, bool partOfPair)
        {
            try
            {
                using var sessionOptions = plan.SessionFor(d, partOfPair, provider).Create();
                var model = new OnnxCausalLm(onnxPath, sessionOptions);
                if (model.Vocab != dir.Config.VocabSize)
                {
                    model.Dispose();
                    throw new DeploymentConfigurationException($"deployment '{d.Name}': {onnxPath} has vocabulary {model.Vocab}, config.json says {dir.Config.VocabSize}.");
                }
                return model;
            }
            catch (ExecutionProviderUnavailableException e)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or FileNotFoundException)
            {
                throw new DeploymentConfigurationException($"deployment '{d.Name}': cannot load {onnxPath}: {e.Message}", e);
            }
        }

        var baseModel = fused
            ? FusedUldGraph.Load(d, baseDir, assistantDir!, path => Session(path, baseDir, partOfPair: false))
            : Session(baseDir.OnnxPath, baseDir, partOfPair: d.Kind == DeploymentKind.Uld);
        try
        {
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
            return new Deployment
            {
                Options = d,
                BaseDirectory = baseDir,
                BaseModel = baseModel,
                AssistantModel = assistantDir is null || fused ? null : Session(assistantDir.OnnxPath, assistantDir, partOfPair: true),
                Tokenizer = tokenizer,
                ChatTemplate = template,
            };
        }
        catch
        {
            baseModel.Dispose();
            throw;
        }
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
