using Microsoft.ML.OnnxRuntime;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.LogitServer.Deployments.Kinds;
using Uld.LogitServer.Engine;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// Opens the sessions of one deployment being loaded, as its kind asks (<see cref="DeploymentKind.OpenSessions"/>):
/// each from the shared <see cref="ModelSessionCache"/>, with the threading plan's settings, its vocabulary checked
/// against the model's config, and the sha256 of every role's ONNX file recorded for <c>model_sha256</c>. Every lease
/// it hands out is released by <see cref="ReleaseAll"/> if loading fails later.
/// </summary>
public sealed class SessionOpener(DeploymentOptions d, LogitServerOptions o, ThreadingPlan plan, ModelSessionCache sessions, VerifiedModels verified)
{
    private readonly List<ModelSessionLease> _leases = [];
    private readonly List<ServingSessionLease> _servingLeases = [];
    private readonly SortedDictionary<string, string> _hashes = new(StringComparer.Ordinal);

    /// <summary>Per role, the sha256 of the ONNX file loaded (or, for a role whose file is not loaded on its own, verified).</summary>
    public IReadOnlyDictionary<string, string> Hashes => _hashes;

    /// <summary>The session of a model directory's ONNX file.</summary>
    /// <param name="besideOthers">Whether it runs side by side with the deployment's other sessions (the threading plan's pair threads).</param>
    public ModelSessionLease Directory(OpenedModel model, bool besideOthers)
    {
        Record(model);
        return Session(model.Directory.OnnxPath, _hashes[model.Role], model.Directory.Config.VocabSize, besideOthers);
    }

    /// <summary>
    /// Whether a model directory's serving graph is to be run instead of its model.onnx: not where the server asks for
    /// the concatenated cache (<see cref="LogitServerOptions.KvCache"/>), the deployment runs on CUDA (whose
    /// GroupQueryAttention kernel takes float16 only), the context is longer than
    /// <see cref="LogitServerOptions.KvCacheMaxLength"/>, or the directory's manifest lists no serving graph.
    /// </summary>
    public bool ServesInPlace(OpenedModel model) =>
        o.AllowsInPlaceKvCache && ExecutionProviderOf(d, o) == ExecutionProvider.Cpu && Deployment.ContextOf(model.Directory) <= o.KvCacheMaxLength
        && model.Directory.Manifest.Files.ContainsKey(ModelDirectory.ServingOnnxFile);

    /// <summary>
    /// The session of a model directory's serving graph (<see cref="ServesInPlace"/>). The role's sha256 stays its
    /// model.onnx's: the model's identity, of which the serving graph is a hashed part.
    /// </summary>
    /// <param name="besideOthers">Whether it runs side by side with the deployment's other sessions (the threading plan's pair threads).</param>
    public ServingSessionLease Serving(OpenedModel model, bool besideOthers)
    {
        var directory = model.Directory;
        if (!ServesInPlace(model)) throw new InvalidOperationException($"{directory.Root} is not served in place.");
        Record(model);
        ServingSessionLease lease;
        try
        {
            lease = sessions.AcquireServing(directory.ServingOnnxPath, plan.SessionFor(d, besideOthers, ExecutionProvider.Cpu, WeightBytes(directory.OnnxPath)),
                directory.Manifest.Files[ModelDirectory.ServingOnnxFile]);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or FileNotFoundException)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': cannot load {directory.ServingOnnxPath}: {e.Message}", e);
        }
        if (lease.Model.Vocab != directory.Config.VocabSize)
        {
            lease.Dispose();
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {directory.ServingOnnxPath} has vocabulary {lease.Model.Vocab}, config.json says {directory.Config.VocabSize}.");
        }
        _servingLeases.Add(lease);
        return lease;
    }

    /// <summary>Records the sha256 of a model directory's ONNX file without loading it (a fused graph's base and assistant).</summary>
    public void Record(OpenedModel model) => _hashes[model.Role] = verified.OnnxSha256(model.Directory);

    /// <summary>The session of an ONNX file outside a model directory (a fused graph), whose logits have <paramref name="vocab"/> entries.</summary>
    public ModelSessionLease File(string role, string path, long vocab, bool besideOthers) =>
        Session(path, _hashes[role] = verified.FileSha256(path), vocab, besideOthers);

    /// <summary>Releases every session handed out, when the deployment they were for is not served after all.</summary>
    public void ReleaseAll()
    {
        foreach (var lease in _leases) lease.Dispose();
        foreach (var lease in _servingLeases) lease.Dispose();
        _leases.Clear();
        _servingLeases.Clear();
    }

    private ModelSessionLease Session(string onnxPath, string contentHash, long vocab, bool besideOthers)
    {
        ModelSessionLease lease;
        try
        {
            lease = sessions.Acquire(onnxPath, plan.SessionFor(d, besideOthers, ExecutionProviderOf(d, o), WeightBytes(onnxPath)), contentHash);
        }
        catch (ExecutionProviderUnavailableException e)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or FileNotFoundException)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': cannot load {onnxPath}: {e.Message}", e);
        }
        if (lease.Model.Vocab != vocab)
        {
            lease.Dispose();
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {onnxPath} has vocabulary {lease.Model.Vocab}, config.json says {vocab}.");
        }
        _leases.Add(lease);
        return lease;
    }

    /// <summary>The ONNX file and its external-data file (large exports), if any.</summary>
    private static long WeightBytes(string onnxPath)
    {
        var data = onnxPath + "_data";
        return new FileInfo(onnxPath).Length + (System.IO.File.Exists(data) ? new FileInfo(data).Length : 0);
    }

    private static ExecutionProvider ExecutionProviderOf(DeploymentOptions d, LogitServerOptions o) => (d.ExecutionProvider ?? o.ExecutionProvider).ToLowerInvariant() switch
    {
        "cpu" => ExecutionProvider.Cpu,
        "cuda" => ExecutionProvider.Cuda,
        var other => throw new DeploymentConfigurationException($"deployment '{d.Name}': ExecutionProvider must be cpu or cuda; got '{other}'."),
    };
}
