using System.Buffers.Binary;
using System.Text;

namespace Uld.Trainer.Torch;

/// <summary>
/// Marks one symbol-version requirement of an ELF64 little-endian shared library as weak (VER_FLG_WEAK), so that
/// the dynamic loader accepts the library even when no loaded object defines that version. Only the flag in the
/// matching Vernaux record of <c>.gnu.version_r</c> changes; the file size and layout stay the same.
/// </summary>
public static class ElfVersionPatcher
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Patches <paramref name="bytes"/> in place; true if the flag was set now, false if it already was.</summary>
    public static bool MarkVersionWeak(byte[] bytes, string version)
    {
        var span = bytes.AsSpan();
        if (bytes.Length < 64 || !span[..4].SequenceEqual("\u007fELF"u8))
            throw new InvalidDataException("not an ELF file.");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported.");

        var sectionHeaders = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]));
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        for (var s = 0; s < count; s++)
        {
            var header = span.Slice(sectionHeaders + s * entrySize, entrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != ShtGnuVerneed) continue;

            var offset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]));
            var stringTableIndex = BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
            var needCount = BinaryPrimitives.ReadUInt32LittleEndian(header[0x2C..]);
            var stringTable = span.Slice(sectionHeaders + (int)stringTableIndex * entrySize, entrySize);
            var strings = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(stringTable[0x18..]));

            var need = offset;
            for (var n = 0; n < needCount; n++)
            {
                var auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(need + 2)..]);
                var aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 8)..]);
                for (var a = 0; a < auxCount; a++)
                {
                    var name = ReadString(span, strings + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]));
                    if (name == version)
                    {
                        var flags = BinaryPrimitives.ReadUInt16LittleEndian(span[(aux + 4)..]);
                        if ((flags & VerFlgWeak) != 0) return false;
                        BinaryPrimitives.WriteUInt16LittleEndian(span[(aux + 4)..], (ushort)(flags | VerFlgWeak));
                        return true;
                    }
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
                }
                need += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 12)..]);
            }
        }
        throw new InvalidDataException($"the library does not require symbol version {version}.");
    }

    /// <summary>True if the file's bytes mention <paramref name="version"/> at all (e.g. a libstdc++ that defines it).</summary>
    public static bool Mentions(string path, string version) =>
        File.ReadAllBytes(path).AsSpan().IndexOf(Encoding.ASCII.GetBytes(version + "\0")) >= 0;

    private static string ReadString(ReadOnlySpan<byte> span, int offset)
    {
        var end = span[offset..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(span.Slice(offset, end));
    }
}
