namespace Uld.Contracts.Models;

/// <summary>
/// A model directory per docs/DESIGN.md, *Contract 1: the model directory*, opened for reading. Opening checks that the required files exist and,
/// unless asked not to, that every file still has the sha256 its manifest records.
/// </summary>
public sealed class ModelDirectory
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string OnnxFile = "onnx/model.onnx";
    public const string OnnxDataFile = "onnx/model.onnx_data";
    /// <summary>The serving graph (docs/DESIGN.md, *The serving graph and its slot cache*): optional, beside <see cref="OnnxFile"/>.</summary>
    public const string ServingOnnxFile = "onnx/serving.onnx";
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string SentencePieceFile = "tokenizer.model";
    public const string GenerationConfigFile = "generation_config.json";

    public string Root { get; }
    public ModelManifest Manifest { get; }
    public LlamaConfig Config { get; }
    public GenerationConfig Generation { get; }

    private ModelDirectory(string root, ModelManifest manifest, LlamaConfig config, GenerationConfig generation)
    {
        Root = root;
        Manifest = manifest;
        Config = config;
        Generation = generation;
    }

    public string PathOf(string relative) => Path.Combine(Root, relative);
    public string OnnxPath => PathOf(OnnxFile);
    /// <summary>The serving graph's path; the file exists only in directories exported with it.</summary>
    public string ServingOnnxPath => PathOf(ServingOnnxFile);
    public string WeightsPath => PathOf(WeightsFile);

    public static ModelDirectory Open(string root, bool verifyHashes = true)
    {
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root)) throw new ModelFormatException($"model directory {root} does not exist.");
        var manifestPath = Path.Combine(root, ModelManifest.FileName);
        if (!File.Exists(manifestPath)) throw new ModelFormatException($"{root} has no {ModelManifest.FileName}; it is not a model directory.");
        var manifest = ModelManifest.Load(manifestPath);
        foreach (var required in new[] { ConfigFile, TokenizerFile, GenerationConfigFile })
        {
            if (!File.Exists(Path.Combine(root, required)))
                throw new ModelFormatException($"{root} is missing {required}.");
        }
        if (verifyHashes) VerifyHashes(root, manifest);
        return new ModelDirectory(root, manifest, LlamaConfig.Load(Path.Combine(root, ConfigFile)),
            GenerationConfig.Load(Path.Combine(root, GenerationConfigFile)));
    }

    /// <summary>Throws naming the first file whose content no longer matches the manifest (or is missing).</summary>
    public static void VerifyHashes(string root, ModelManifest manifest)
    {
        foreach (var (relative, expected) in manifest.Files)
        {
            var path = Path.Combine(root, relative);
            if (!File.Exists(path))
                throw new ModelFormatException($"{root}: {relative} is listed in the manifest but missing.");
            var actual = FileHash.Sha256(path);
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                throw new ModelFormatException($"{root}: {relative} has sha256 {actual}, the manifest says {expected}; the directory was modified or is corrupt.");
        }
    }

    /// <summary>sha256 of every file below <paramref name="root"/> except the manifest, keyed by forward-slash relative path.</summary>
    public static SortedDictionary<string, string> HashFiles(string root)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (relative == ModelManifest.FileName) continue;
            files[relative] = FileHash.Sha256(path);
        }
        return files;
    }
}
