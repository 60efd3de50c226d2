using Uld.Contracts.Models;

namespace Uld.Tests.Support;

/// <summary>Model directories whose tokenizer differs from their source's by one token, re-hashed so only the vocabulary check can catch it.</summary>
public static class VocabularyChange
{
    public static string CopyWithAnotherVocabulary(string source, string destination)
    {
        DirectoryCopy.Copy(source, destination);
        var manifestPath = Path.Combine(destination, "manifest.json");
        var manifest = ModelManifest.Load(manifestPath);
        var tokenizer = Path.Combine(destination, "tokenizer.json");
        File.WriteAllText(tokenizer, File.ReadAllText(tokenizer).Replace("\"▁the\"", "\"▁thee\""));
        var files = manifest.Files.ToDictionary();
        files["tokenizer.json"] = FileHash.Sha256(tokenizer);
        (manifest with { Files = files }).Save(manifestPath);
        return destination;
    }
}
