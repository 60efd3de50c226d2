using Uld.Tokenization.Protobuf;

namespace Uld.Tokenization;

/// <summary>
/// Serialises a SentencePiece BPE <c>ModelProto</c> (the tokenizer.model file) from a piece list, with the
/// Llama normaliser settings (dummy prefix, whitespace escaped as '▁', no whitespace collapsing, byte fallback).
/// Only the fields a reader needs are written; field numbers follow google/sentencepiece's sentencepiece_model.proto.
/// </summary>
public static class SentencePieceModelWriter
{
    private const int ModelTypeBpe = 2;

    public static byte[] Write(IReadOnlyList<VocabPiece> pieces, SpecialTokenIds ids)
    {
        var model = new ProtoBuilder();
        foreach (var piece in pieces)
        {
            model.Message(1, p => p // ModelProto.pieces
                .String(1, piece.Piece)
                .Float(2, piece.Score)
                .Int32(3, (int)piece.Type));
        }
        model.Message(2, t => t // ModelProto.trainer_spec
            .Int32(3, ModelTypeBpe)
            .Int32(4, pieces.Count) // vocab_size
            .Bool(35, true) // byte_fallback
            .Int32(40, ids.Unk)
            .Int32(41, ids.Bos)
            .Int32(42, ids.Eos)
            .Int32(43, ids.Pad ?? -1));
        model.Message(3, n => n // ModelProto.normalizer_spec
            .String(1, "identity")
            .Bool(3, true) // add_dummy_prefix
            .Bool(4, false) // remove_extra_whitespaces
            .Bool(5, true)); // escape_whitespaces
        return model.ToArray();
    }
}
