using System.Buffers.Binary;
using System.Text;

namespace Uld.Trainer.Torch;

/// <summary>
/// Reads and edits the symbol-version requirements (<c>.gnu.version_r</c>) of an ELF64 little-endian shared library.
/// The one edit it makes is to mark a required version weak (<c>VER_FLG_WEAK</c>): the dynamic loader then no longer
/// refuses to load the library when no loaded object defines that version, and symbols bound to it may come from any
/// object that defines them unversioned. Only a flag bit in the matching <c>Vernaux</c> record changes; the file's size
/// and layout stay the same, so nothing else in the library can be disturbed.
/// </summary>
/// <remarks>
/// Layout (System V gABI, "Symbol Versioning"): the section of type <c>SHT_GNU_verneed</c> holds a chain of
/// <c>Verneed</c> records, one per needed library, each followed by a chain of <c>Vernaux</c> records, one per version
/// needed from that library; version names are offsets into the string table named by the section's <c>sh_link</c>
/// (<c>.dynstr</c>). Every offset read from the file is bounds-checked, so a truncated or foreign file gives an
/// <see cref="InvalidDataException"/> rather than an index error or a write to the wrong byte.
/// </remarks>
public static class ElfVersionPatcher
{
    /// <summary><c>VER_FLG_WEAK</c>: a missing definition of this version is not fatal.</summary>
    public const ushort VerFlgWeak = 0x2;

    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const int Elf64HeaderSize = 64;
    private const int Elf64SectionHeaderSize = 64;
    private const int VerneedSize = 16;
    private const int VernauxSize = 16;

    /// <summary>
    /// The <c>vna_flags</c> of the requirement for <paramref name="version"/> (e.g. <c>GLIBCXX_3.4.32</c>), or null
    /// if the library does not require that version.
    /// </summary>
    public static ushort? GetVersionNeedFlags(ReadOnlySpan<byte> elf, string version)
    {
        ushort? flags = null;
        foreach (var aux in FindVernaux(elf, version)) flags = (ushort)((flags ?? 0) | ReadU16(elf, aux + 4));
        return flags;
    }

    /// <summary>
    /// Sets <c>VER_FLG_WEAK</c> on every requirement for <paramref name="version"/>, in place.
    /// Returns true if a flag was set now, false if all were weak already (so calling it twice is harmless).
    /// Throws <see cref="InvalidDataException"/> if the data is not a 64-bit little-endian ELF file or does not require
    /// the version at all: being asked to patch something that is not there means the caller's assumptions are wrong.
    /// </summary>
    public static bool MarkVersionWeak(byte[] elf, string version)
    {
        var records = FindVernaux(elf, version);
        if (records.Count == 0) throw new InvalidDataException($"the ELF file does not require symbol version {version}.");
        var changed = false;
        foreach (var aux in records)
        {
            var flags = ReadU16(elf, aux + 4);
            if ((flags & VerFlgWeak) != 0) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(aux + 4), (ushort)(flags | VerFlgWeak));
            changed = true;
        }
        return changed;
    }

    /// <summary>
    /// Marks <paramref name="version"/> weak in the file at <paramref name="path"/>; true if the file changed.
    /// The file is never rewritten in place: the patched bytes go to a temporary file in the same directory that then
    /// replaces the original by rename. A process that has the old library mapped keeps a consistent old copy, a
    /// crash leaves either the old or the new file, and if the file is a hard link into a shared cache (the NuGet
    /// packages folder, with MSBuild's hard-link copy options) the cache keeps its original bytes.
    /// The original's permissions and modification time are kept: MSBuild skips copying a file whose size and
    /// timestamp are unchanged, so an incremental build leaves the patched copy alone instead of overwriting it
    /// with the pristine one (which would happen in place, under any process that has it loaded).
    /// </summary>
    public static bool MarkVersionWeak(string path, string version)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }
        bool changed;
        try
        {
            changed = MarkVersionWeak(bytes, version);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        if (!changed) return false;

        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
            File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(path));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return true;
    }

    /// <summary>Offsets of the <c>Vernaux</c> records that name <paramref name="version"/>.</summary>
    private static List<int> FindVernaux(ReadOnlySpan<byte> elf, string version)
    {
        if (elf.Length < Elf64HeaderSize || !elf[..4].SequenceEqual("\u007fELF"u8))
            throw new InvalidDataException("not an ELF file (no \\x7fELF magic).");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported.");

        var sectionTable = ReadOffset(elf, 0x28, "e_shoff");
        var sectionHeaderSize = ReadU16(elf, 0x3A);
        var sectionCount = ReadU16(elf, 0x3C);
        if (sectionTable == 0 || sectionCount == 0) throw new InvalidDataException("the ELF file has no section headers.");
        if (sectionHeaderSize != Elf64SectionHeaderSize) throw new InvalidDataException($"unexpected section header size {sectionHeaderSize}.");
        Require(elf, sectionTable, sectionCount * Elf64SectionHeaderSize, "the section header table");

        var found = new List<int>();
        var wanted = Encoding.ASCII.GetBytes(version);
        for (var s = 0; s < sectionCount; s++)
        {
            var header = sectionTable + s * Elf64SectionHeaderSize;
            if (ReadU32(elf, header + 4) != ShtGnuVerneed) continue;

            var link = ReadU32(elf, header + 0x28); // sh_link: index of the string table (.dynstr) the names point into
            if (link >= sectionCount) throw new InvalidDataException($"the version-need section links to missing section {link}.");
            var strings = ReadOffset(elf, checked((int)(sectionTable + link * Elf64SectionHeaderSize + 0x18)), "the string table's sh_offset");
            var stringsSize = ReadOffset(elf, checked((int)(sectionTable + link * Elf64SectionHeaderSize + 0x20)), "the string table's sh_size");
            Require(elf, strings, stringsSize, "the string table");

            var need = ReadOffset(elf, header + 0x18, "the version-need section's sh_offset");
            var needCount = ReadU32(elf, header + 0x2C); // sh_info: number of Verneed records
            for (var n = 0; n < needCount; n++)
            {
                Require(elf, need, VerneedSize, "a Verneed record");
                var auxCount = ReadU16(elf, need + 2);
                var aux = checked(need + (int)ReadU32(elf, need + 8));
                for (var a = 0; a < auxCount; a++)
                {
                    Require(elf, aux, VernauxSize, "a Vernaux record");
                    var name = ReadU32(elf, aux + 8);
                    if (name >= stringsSize) throw new InvalidDataException("a version name lies outside the string table.");
                    var nameBytes = elf.Slice(strings + (int)name, stringsSize - (int)name);
                    var end = nameBytes.IndexOf((byte)0);
                    if (end >= 0 && nameBytes[..end].SequenceEqual(wanted)) found.Add(aux);

                    var nextAux = ReadU32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux = checked(aux + (int)nextAux);
                }
                var nextNeed = ReadU32(elf, need + 12);
                if (nextNeed == 0) break;
                need = checked(need + (int)nextNeed);
            }
        }
        return found;
    }

    private static ushort ReadU16(ReadOnlySpan<byte> elf, int offset)
    {
        Require(elf, offset, 2, "a field");
        return BinaryPrimitives.ReadUInt16LittleEndian(elf[offset..]);
    }

    private static uint ReadU32(ReadOnlySpan<byte> elf, int offset)
    {
        Require(elf, offset, 4, "a field");
        return BinaryPrimitives.ReadUInt32LittleEndian(elf[offset..]);
    }

    /// <summary>A 64-bit file offset or size that must also fit the in-memory array.</summary>
    private static int ReadOffset(ReadOnlySpan<byte> elf, int offset, string what)
    {
        Require(elf, offset, 8, what);
        var value = BinaryPrimitives.ReadUInt64LittleEndian(elf[offset..]);
        if (value > (ulong)elf.Length) throw new InvalidDataException($"{what} ({value}) lies outside the file ({elf.Length} bytes).");
        return (int)value;
    }

    private static void Require(ReadOnlySpan<byte> elf, long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || offset + length > elf.Length)
            throw new InvalidDataException($"{what} lies outside the file (offset {offset}, length {length}, file {elf.Length} bytes); truncated or corrupt ELF file?");
    }
}
