using Uld.Bench.Processes;

namespace Uld.Bench;

/// <summary><c>uld-trainer export-llama2c</c>: a model directory's float32 weights as a llama2.c checkpoint and tokenizer.bin, the input of the outside references.</summary>
public static class Llama2cExport
{
    public static (string Checkpoint, string Tokenizer) Write(string trainerDll, string modelDir, string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var (checkpoint, tokenizer) = (Path.Combine(directory, $"{name}.bin"), Path.Combine(directory, $"{name}-tokenizer.bin"));
        ChildCommand.Run(trainerDll, ["export-llama2c", "-m", modelDir, "-o", checkpoint, "--tokenizer-output", tokenizer]);
        return (checkpoint, tokenizer);
    }
}
