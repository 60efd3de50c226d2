using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Uld.Trainer.Torch;

/// <summary>
/// Makes TorchSharp's native library loadable where the system libstdc++ is older than the one it was built
/// against. TorchSharp-cpu 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32 (GCC 13) for exactly one symbol,
/// <c>std::ios_base_library_init()</c>; Debian 12 ships GCC 12's libstdc++. The fix, applied once before the first
/// torch call: mark that version requirement weak in the copy of the library in the application's own output
/// directory, build a one-function shim defining the symbol with g++, and load the shim with global visibility
/// so the loader binds the symbol to it. Where libstdc++ already has the version, nothing is touched.
/// </summary>
public static class TorchRuntime
{
    private const string RequiredVersion = "GLIBCXX_3.4.32";
    private const string NativeLibrary = "libLibTorchSharp.so";
    private const string ShimLibrary = "libuld_glibcxx_shim.so";
    private const string ShimSource = "#include <ios>\nnamespace std { void ios_base_library_init() { static ios_base::Init init; } }\n";

    private static readonly Lock Gate = new();
    private static bool _initialized;

    /// <summary>Idempotent and thread-safe; call before the first use of TorchSharp.</summary>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (_initialized) return;
            if (OperatingSystem.IsLinux() && !SystemLibStdCxxHas(RequiredVersion)) ApplyFix();
            _initialized = true;
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void ApplyFix()
    {
        var directory = FindNativeDirectory();
        // Parallel processes (test runners) may get here at once: one patches, the others wait and then see it done.
        using (var lockFile = AcquireLock(Path.Combine(directory, ".uld-torch-fix.lock")))
        {
            var library = Path.Combine(directory, NativeLibrary);
            var bytes = File.ReadAllBytes(library);
            if (ElfVersionPatcher.MarkVersionWeak(bytes, RequiredVersion)) ReplaceAtomically(library, bytes);

            var shim = Path.Combine(directory, ShimLibrary);
            if (!File.Exists(shim)) BuildShim(shim);
        }
        if (dlopen(Path.Combine(directory, ShimLibrary), RtldNow | RtldGlobal) == IntPtr.Zero)
            throw new InvalidOperationException($"could not load {ShimLibrary}: {Marshal.PtrToStringAnsi(dlerror())}");
    }

    /// <summary>The libstdc++ this process already loaded (the .NET runtime links it), else the system one.</summary>
    private static bool SystemLibStdCxxHas(string version)
    {
        var loaded = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
            .FirstOrDefault(path => path is not null && Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal));
        string[] candidates = [loaded ?? "", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6"];
        var path = candidates.FirstOrDefault(File.Exists);
        return path is null || ElfVersionPatcher.Mentions(path, version);
    }

    private static string FindNativeDirectory()
    {
        var rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string[] candidates = [Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native"), AppContext.BaseDirectory];
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, NativeLibrary)))
               ?? throw new InvalidOperationException($"TorchSharp's {NativeLibrary} is not in {string.Join(" or ", candidates)}; is the TorchSharp-cpu package restored?");
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (deadline.Elapsed < TimeSpan.FromMinutes(2))
            {
                Thread.Sleep(100);
            }
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void ReplaceAtomically(string path, byte[] bytes)
    {
        var temp = path + ".patching";
        File.WriteAllBytes(temp, bytes);
        File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
        File.Move(temp, path, overwrite: true);
    }

    private static void BuildShim(string output)
    {
        var source = Path.Combine(Path.GetTempPath(), $"uld-glibcxx-shim-{Environment.ProcessId}.cpp");
        var temp = output + ".building";
        File.WriteAllText(source, ShimSource);
        try
        {
            var start = new ProcessStartInfo("g++", ["-shared", "-fPIC", "-O2", "-o", temp, source]) { RedirectStandardError = true };
            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start g++.");
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"g++ failed to build the libstdc++ shim TorchSharp needs: {errors}");
            File.Move(temp, output, overwrite: true);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException(
                $"TorchSharp needs {RequiredVersion}, which this system's libstdc++ lacks, and g++ (to build a one-symbol shim) is not installed: run `apt-get install g++`.");
        }
        finally
        {
            File.Delete(source);
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern IntPtr dlopen(string fileName, int flags);

    [DllImport("libc.so.6")]
    private static extern IntPtr dlerror();
}
