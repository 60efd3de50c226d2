using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Uld.Inference.Weights;

/// <summary>
/// Weights that several models of one process hold byte for byte — a ULD assistant's embedding and LM head are its
/// base's, a truncated assistant's layers are the base's first K — loaded once and handed to every session that has
/// them. Each shared tensor is a read-only memory map of the first file that holds it, given to ONNX Runtime through
/// <see cref="SessionOptions.AddInitializer"/>; the sessions also share one <see cref="PrePackedWeightsContainer"/>,
/// so the packed form a kernel makes of such a weight (MatMul, MatMulNBits) exists once too.
/// <para>
/// Why by hand: ONNX Runtime shares nothing between sessions unless told exactly which initializers are the same.
/// Candidates are external initializers of at least <see cref="DefaultMinBytes"/> with the same name, type and shape
/// in two or more of the files; only those are hashed (SHA-256), so unrelated models cost one read of their graph file.
/// </para>
/// </summary>
public sealed class SharedWeights : IDisposable
{
    public const long DefaultMinBytes = 16L << 10;

    private readonly Dictionary<string, List<(string Name, MappedTensor Tensor)>> _byModel;
    private readonly List<MappedTensor> _tensors;

    private SharedWeights(Dictionary<string, List<(string, MappedTensor)>> byModel, List<MappedTensor> tensors) =>
        (_byModel, _tensors) = (byModel, tensors);

    /// <summary>The prepacked-weights store every session of this process is created with.</summary>
    public PrePackedWeightsContainer Container { get; } = new();

    /// <summary>Tensors shared between at least two of the planned files.</summary>
    public int Count => _tensors.Count;

    /// <summary>Bytes each extra holder of a shared tensor no longer loads.</summary>
    public long SavedBytes => _byModel.Values.SelectMany(l => l).Sum(e => e.Tensor.Length) - _tensors.Sum(t => t.Length);

    /// <summary>Finds the weights that the ONNX files at <paramref name="onnxPaths"/> hold in common. Unreadable files are skipped (their session load reports them).</summary>
    public static SharedWeights Plan(IEnumerable<string> onnxPaths, long minBytes = DefaultMinBytes)
    {
        var candidates = new List<(string Model, ExternalInitializer Init)>();
        foreach (var model in onnxPaths.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            try
            {
                candidates.AddRange(ExternalInitializers.Read(model).Where(i => i.Length >= minBytes).Select(i => (model, i)));
            }
            catch (Exception e) when (e is IOException or Google.Protobuf.InvalidProtocolBufferException or UnauthorizedAccessException or FormatException or OverflowException)
            {
            }
        }

        var byModel = new Dictionary<string, List<(string, MappedTensor)>>(StringComparer.Ordinal);
        var tensors = new List<MappedTensor>();
        try
        {
            var groups = candidates
                .GroupBy(c => (c.Init.Name, c.Init.DataType, Shape: string.Join(',', c.Init.Dims), c.Init.Length))
                .Where(g => g.Select(c => c.Model).Distinct().Count() > 1);
            foreach (var group in groups)
            {
                foreach (var same in group.GroupBy(c => Hash(c.Init)).Where(s => s.Select(c => c.Model).Distinct().Count() > 1))
                {
                    var tensor = new MappedTensor(same.First().Init);
                    tensors.Add(tensor);
                    foreach (var (model, init) in same)
                    {
                        if (!byModel.TryGetValue(model, out var list)) byModel[model] = list = [];
                        list.Add((init.Name, tensor));
                    }
                }
            }
            return new SharedWeights(byModel, tensors);
        }
        catch
        {
            foreach (var t in tensors) t.Dispose();
            throw;
        }
    }

    /// <summary>Nothing shared (every session loads its own file).</summary>
    public static SharedWeights None() => new([], []);

    /// <summary>The initializers of <paramref name="onnxPath"/> that come from a shared map.</summary>
    public IReadOnlyList<string> SharedNames(string onnxPath) =>
        _byModel.TryGetValue(Path.GetFullPath(onnxPath), out var shared) ? shared.Select(s => s.Name).ToList() : [];

    /// <summary>Gives <paramref name="options"/> the shared tensors of <paramref name="onnxPath"/>.</summary>
    public void AddTo(string onnxPath, SessionOptions options)
    {
        if (!_byModel.TryGetValue(Path.GetFullPath(onnxPath), out var shared)) return;
        foreach (var (name, tensor) in shared) options.AddInitializer(name, tensor.Value);
    }

    /// <summary>
    /// Drops the pages that loading read from the shared maps. Kernels run from their packed copies; what still reads
    /// a shared tensor (an embedding lookup) faults back in only the rows it touches, from the page cache.
    /// </summary>
    public void DropResidentPages()
    {
        foreach (var t in _tensors) t.DropResidentPages();
    }

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        Container.Dispose();
    }

    private static string Hash(ExternalInitializer init)
    {
        using var file = new FileStream(init.DataPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        file.Seek(init.Offset, SeekOrigin.Begin);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        for (var left = init.Length; left > 0;)
        {
            var n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new IOException($"{init.DataPath} ends before initializer {init.Name} does.");
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>One initializer's bytes, memory-mapped read-only, as the OrtValue sessions are given.</summary>
    private sealed class MappedTensor : IDisposable
    {
        private const int MadviseDontNeed = 4;
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;

        public MappedTensor(ExternalInitializer init)
        {
            Length = init.Length;
            _file = MemoryMappedFile.CreateFromFile(init.DataPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            try
            {
                _view = _file.CreateViewAccessor(init.Offset, init.Length, MemoryMappedFileAccess.Read);
                var address = _view.SafeMemoryMappedViewHandle.DangerousGetHandle() + (nint)_view.PointerOffset;
                Value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (TensorElementType)init.DataType, init.Dims, address, init.Length);
            }
            catch
            {
                _view?.Dispose();
                _file.Dispose();
                throw;
            }
        }

        public long Length { get; }
        public OrtValue Value { get; }

        public void DropResidentPages()
        {
            if (!OperatingSystem.IsLinux()) return;
            // The view starts on a page boundary; PointerOffset is where the tensor starts within it.
            _ = madvise(_view.SafeMemoryMappedViewHandle.DangerousGetHandle(), (nuint)(_view.PointerOffset + Length), MadviseDontNeed);
        }

        public void Dispose()
        {
            Value.Dispose();
            _view.Dispose();
            _file.Dispose();
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int madvise(nint address, nuint length, int advice);
    }
}
