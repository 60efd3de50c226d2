using Google.Protobuf;
using Uld.Contracts.Models;

namespace Uld.Tokenization;

/// <summary>Reads the pieces and special ids of a SentencePiece tokenizer.model (the inverse of <see cref="SentencePieceModelWriter"/>).</summary>
public static class SentencePieceModelReader
{
    public static (IReadOnlyList<VocabPiece> Pieces, SpecialTokenIds Ids) Read(string path)
    {
        var pieces = new List<VocabPiece>();
        int unk = 0, bos = 1, eos = 2, modelType = 1;
        try
        {
            var input = new CodedInputStream(File.ReadAllBytes(path));
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1:
                        pieces.Add(ReadPiece(new CodedInputStream(input.ReadBytes().ToByteArray())));
                        break;
                    case 2:
                        var spec = new CodedInputStream(input.ReadBytes().ToByteArray());
                        uint specTag;
                        while ((specTag = spec.ReadTag()) != 0)
                        {
                            switch (WireFormat.GetTagFieldNumber(specTag))
                            {
                                case 3: modelType = spec.ReadEnum(); break;
                                case 40: unk = spec.ReadInt32(); break;
                                case 41: bos = spec.ReadInt32(); break;
                                case 42: eos = spec.ReadInt32(); break;
                                default: spec.SkipLastField(); break;
                            }
                        }
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelFormatException($"{path} is not a SentencePiece model: {e.Message}");
        }
        if (pieces.Count == 0) throw new ModelFormatException($"{path} is not a SentencePiece model (no pieces).");
        if (modelType != 2) throw new ModelFormatException($"{path} is a SentencePiece model of type {modelType}; only BPE (2) is supported.");
        return (pieces, new SpecialTokenIds(unk, bos, eos));
    }

    private static VocabPiece ReadPiece(CodedInputStream input)
    {
        string piece = "";
        float score = 0;
        var type = PieceType.Normal;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: piece = input.ReadString(); break;
                case 2: score = input.ReadFloat(); break;
                case 3: type = (PieceType)input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new VocabPiece(piece, score, type);
    }
}
