namespace Uld.Contracts.Models;

/// <summary>A model file or directory that does not satisfy the contracts; the message names the file and the problem.</summary>
public sealed class ModelFormatException(string message) : UserErrorException(message);
