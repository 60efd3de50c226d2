using System.Text;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Tokenization;

namespace Uld.Trainer.Import;

/// <summary>
/// Reads and writes a llama2.c tokenizer.bin (int32 max_token_length, then per token: float32 score, int32 length, bytes) as
/// SentencePiece pieces. llama2.c stores '▁' as a space and BOS/EOS as "\n&lt;s&gt;\n" / "\n&lt;/s&gt;\n"; both are undone.
/// </summary>
public static class Llama2cTokenizer
{
    public static readonly SpecialTokenIds Ids = new(Unk: 0, Bos: 1, Eos: 2);

    public static IReadOnlyList<VocabPiece> Read(string path, int vocabSize)
    {
        if (!File.Exists(path)) throw new ModelFormatException($"tokenizer {path} does not exist.");
        using var reader = new BinaryReader(File.OpenRead(path));
        try
        {
            var maxLength = reader.ReadInt32();
            if (maxLength <= 0 || maxLength > 1024)
                throw new ModelFormatException($"{path} is not a llama2.c tokenizer (max token length {maxLength}).");
            var pieces = new List<VocabPiece>(vocabSize);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var id = 0; id < vocabSize; id++)
            {
                var score = reader.ReadSingle();
                var length = reader.ReadInt32();
                if (length < 0 || length > maxLength)
                    throw new ModelFormatException($"{path}: token {id} has length {length} (max {maxLength}); not a llama2.c tokenizer.");
                var text = Encoding.UTF8.GetString(reader.ReadBytes(length));
                var (piece, type) = id switch
                {
                    0 => ("<unk>", PieceType.Unknown),
                    1 => ("<s>", PieceType.Control),
                    2 => ("</s>", PieceType.Control),
                    _ when SentencePieceTokenizerJson.IsByteToken(text) => (text, PieceType.Byte),
                    _ => (text.Replace(' ', SentencePieceTokenizerJson.SpaceMarker), PieceType.Normal),
                };
                if (!seen.Add(piece)) throw new ModelFormatException($"{path}: piece \"{piece}\" appears twice.");
                pieces.Add(new VocabPiece(piece, score, type));
            }
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new ModelFormatException($"{path} holds more tokens than the checkpoint's vocabulary of {vocabSize}.");
            return pieces;
        }
        catch (EndOfStreamException)
        {
            throw new ModelFormatException($"{path} is truncated or holds fewer tokens than the checkpoint's vocabulary of {vocabSize}.");
        }
    }

    /// <summary>Writes <paramref name="pieces"/> (ids 0, 1, 2 = unk, BOS, EOS, as run.c assumes) in the format <see cref="Read"/> reads.</summary>
    public static void Write(string path, IReadOnlyList<VocabPiece> pieces)
    {
        var texts = pieces.Select((p, id) => Encoding.UTF8.GetBytes(id switch
        {
            1 => "\n<s>\n",
            2 => "\n</s>\n",
            _ when p.Type is PieceType.Byte or PieceType.Unknown or PieceType.Control => p.Piece,
            _ => p.Piece.Replace(SentencePieceTokenizerJson.SpaceMarker, ' '),
        })).ToArray();
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(texts.Max(t => t.Length));
            for (var id = 0; id < texts.Length; id++)
            {
                w.Write(pieces[id].Score);
                w.Write(texts[id].Length);
                w.Write(texts[id]);
            }
        });
    }
}
