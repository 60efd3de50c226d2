using System.Globalization;
using System.Text;

namespace Uld.Tokenization.HuggingFace;

/// <summary>
/// Unicode NFC (canonical decomposition, canonical ordering, canonical composition; Hangul algorithmically), for
/// tokenizers whose normalizer is NFC (Qwen). Needed because the project runs with InvariantGlobalization, where
/// <see cref="string.Normalize()"/> leaves non-ASCII text as it is. Data: nfc-data.txt (tools/unicode/generate-nfc-data.py).
/// </summary>
public static class Nfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
    private const int NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<(Dictionary<int, int[]> Decompositions, Dictionary<int, byte> Classes, Dictionary<(int, int), int> Composites)> Data =
        new(Load);

    public static string Normalize(string text)
    {
        // Below U+0300 nothing decomposes or combines: the common case returns untouched.
        if (text.AsSpan().IndexOfAnyInRange('\u0300', '\uFFFF') < 0) return text;
        var (decompositions, classes, composites) = Data.Value;

        var points = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, points, decompositions);
        Reorder(points, classes);
        Compose(points, classes, composites);

        var result = new StringBuilder(text.Length);
        foreach (var cp in points) result.Append(char.ConvertFromUtf32(cp));
        return result.ToString();
    }

    private static void Decompose(int cp, List<int> output, Dictionary<int, int[]> decompositions)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            var index = cp - SBase;
            output.Add(LBase + index / NCount);
            output.Add(VBase + index % NCount / TCount);
            if (index % TCount != 0) output.Add(TBase + index % TCount);
            return;
        }
        if (!decompositions.TryGetValue(cp, out var parts))
        {
            output.Add(cp);
            return;
        }
        foreach (var part in parts) Decompose(part, output, decompositions);
    }

    /// <summary>Stable sort of each run of non-starters by combining class.</summary>
    private static void Reorder(List<int> points, Dictionary<int, byte> classes)
    {
        for (var i = 1; i < points.Count; i++)
        {
            var ccc = Class(points[i], classes);
            if (ccc == 0) continue;
            for (var j = i; j > 0 && Class(points[j - 1], classes) > ccc; j--) (points[j - 1], points[j]) = (points[j], points[j - 1]);
        }
    }

    private static void Compose(List<int> points, Dictionary<int, byte> classes, Dictionary<(int, int), int> composites)
    {
        if (points.Count == 0) return;
        var starter = Class(points[0], classes) == 0 ? 0 : -1;
        var lastClass = starter == 0 ? 0 : 256;
        var write = 1;
        for (var read = 1; read < points.Count; read++)
        {
            var cp = points[read];
            var ccc = Class(cp, classes);
            var blocked = starter < 0 || (write - 1 != starter && lastClass >= ccc) || (write - 1 != starter && lastClass == 0);
            if (!blocked && TryCompose(points[starter], cp, composites, out var composite))
            {
                points[starter] = composite;
                continue;
            }
            if (ccc == 0)
            {
                starter = write;
                lastClass = 0;
            }
            else
            {
                lastClass = ccc;
            }
            points[write++] = cp;
        }
        points.RemoveRange(write, points.Count - write);
    }

    private static bool TryCompose(int first, int second, Dictionary<(int, int), int> composites, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }
        return composites.TryGetValue((first, second), out composite);
    }

    private static int Class(int cp, Dictionary<int, byte> classes) => classes.TryGetValue(cp, out var c) ? c : 0;

    private static (Dictionary<int, int[]>, Dictionary<int, byte>, Dictionary<(int, int), int>) Load()
    {
        using var stream = typeof(Nfc).Assembly.GetManifestResourceStream("Uld.Tokenization.nfc-data.txt")
                           ?? throw new InvalidOperationException("the NFC data resource is missing from Uld.Tokenization.");
        using var reader = new StreamReader(stream);
        var decompositions = new Dictionary<int, int[]>();
        var classes = new Dictionary<int, byte>();
        var primary = new List<int>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var fields = line.Split(' ');
            var cp = int.Parse(fields[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            switch (fields[0])
            {
                case "d": decompositions[cp] = fields[2..].Select(f => int.Parse(f, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray(); break;
                case "c": classes[cp] = byte.Parse(fields[2], CultureInfo.InvariantCulture); break;
                case "p": primary.Add(cp); break;
            }
        }
        var composites = primary.ToDictionary(cp => (decompositions[cp][0], decompositions[cp][1]), cp => cp);
        return (decompositions, classes, composites);
    }
}
