using Uld.Contracts.Models;
using Uld.LogitServer.Deployments.Kinds;
using Uld.LogitServer.Engine;
using Uld.Tokenization;

namespace Uld.LogitServer.Deployments;

/// <summary>A deployment whose sessions are open, with the sha256 of each role's ONNX file as it was loaded.</summary>
public sealed record LoadedDeployment(Deployment Deployment, IReadOnlyDictionary<string, string> ModelSha256);

/// <summary>
/// Opens and checks one deployment whose settings <see cref="LogitServerOptionsValidator"/> already accepted: the model
/// directories its kind needs (file hashes), their shared vocabulary, the chat template, what the kind resolves at
/// load (the α default), the sessions the kind runs (ONNX I/O). The same code loads the configured deployments at
/// start-up and the admin API's at run time, so both are held to the same checks.
/// </summary>
public static class DeploymentLoader
{
    public static LoadedDeployment Load(DeploymentOptions d, LogitServerOptions o, ThreadingPlan plan, ModelSessionCache sessions, VerifiedModels verified)
    {
        var kind = DeploymentKinds.Of(d) ?? throw new DeploymentConfigurationException($"deployment '{d.Name}': Kind '{d.Kind}' is not a deployment kind.");
        var models = kind.Models(d).Select(m => new OpenedModel(m.Role, Open(d, verified, m.Path))).ToList();
        var baseDir = models[0].Directory;
        // Logits are added token by token, so every model must number the vocabulary the same way.
        foreach (var other in models.Skip(1)) CheckSharedVocabulary(d, baseDir, other.Role, other.Directory);

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

        var served = kind.Serve(d, models);
        var opener = new SessionOpener(d, o, plan, sessions, verified);
        try
        {
            var opened = kind.OpenSessions(served, models, opener);
            var deployment = new Deployment
            {
                Kind = kind,
                Options = served,
                BaseDirectory = baseDir,
                BaseSession = opened.Base,
                ServingSession = opened.Serving,
                ServingCompanionSessions = opened.ServingCompanions ?? [],
                CompanionSessions = opened.Companions,
                Tokenizer = tokenizer,
                ChatTemplate = template,
            };
            return new LoadedDeployment(deployment, opener.Hashes);
        }
        catch
        {
            opener.ReleaseAll();
            throw;
        }
    }

    private static ModelDirectory Open(DeploymentOptions d, VerifiedModels verified, string path)
    {
        try
        {
            return verified.Open(path);
        }
        catch (ModelFormatException e)
        {
            throw new DeploymentConfigurationException($"deployment '{d.Name}': {e.Message}", e);
        }
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

    /// <summary>
    /// The ONNX files the deployments will load in sessions of their own (<see cref="DeploymentKind.SessionModels"/>),
    /// read without checking hashes: only to find the weights they share. A directory that cannot be opened is left
    /// to <see cref="Load"/> to report. With <paramref name="inPlace"/>, the serving graph of a kind that runs one
    /// counts too: it reads its model.onnx's data file, so a plain deployment on it and a ULD deployment on model.onnx
    /// of the same base hold those weights once.
    /// </summary>
    public static IEnumerable<string> ModelFiles(IEnumerable<DeploymentOptions> deployments, bool inPlace = false)
    {
        foreach (var d in deployments)
        {
            var kind = DeploymentKinds.Of(d);
            foreach (var model in kind?.SessionModels(d) ?? [])
            {
                if (string.IsNullOrWhiteSpace(model.Path)) continue;
                ModelDirectory? directory;
                try
                {
                    directory = ModelDirectory.Open(model.Path, verifyHashes: false);
                }
                catch (Exception e) when (e is ModelFormatException or IOException or UnauthorizedAccessException)
                {
                    directory = null;
                }
                if (directory is null) continue;
                if (File.Exists(directory.OnnxPath)) yield return directory.OnnxPath;
                if (inPlace && kind!.RunsServingGraph && File.Exists(directory.ServingOnnxPath)) yield return directory.ServingOnnxPath;
            }
        }
    }
}
