namespace Uld.Tokenization;

public sealed record SpecialTokenIds(int Unk, int Bos, int Eos, int? Pad = null);
