namespace Uld.Tokenization;

/// <summary>SentencePiece piece types (sentencepiece_model.proto, ModelProto.SentencePiece.Type).</summary>
public enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>One vocabulary entry of a SentencePiece-style (Llama) tokenizer; spaces are written as '▁'.</summary>
public sealed record VocabPiece(string Piece, float Score, PieceType Type);
