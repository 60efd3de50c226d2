using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Uld.Trainer.Torch;

/// <summary>
/// Makes TorchSharp's native library loadable on Linux systems whose libstdc++ is older than the one it was built
/// against, with no manual step.
/// </summary>
/// <remarks>
/// <para>
/// Why: TorchSharp-cpu 0.107's <c>libLibTorchSharp.so</c> declares a need for symbol version <c>GLIBCXX_3.4.32</c>
/// (GCC 13), used by exactly one symbol, <c>std::ios_base_library_init()</c>, which GCC 13's <c>&lt;iostream&gt;</c>
/// references to run libstdc++'s stream initialisation. Debian 12 ships GCC 12's libstdc++ (up to 3.4.30), so the
/// loader refuses the library and TorchSharp fails on first use. libtorch itself loads fine.
/// </para>
/// <para>
/// How TorchSharp loads it (Torch.cs, <c>LoadNativeBackend</c>): <c>NativeLibrary.TryLoad("torch_cpu", ...)</c> then
/// <c>NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, ...)</c>, which probes the directories the
/// host derived from the app's deps.json (<c>NATIVE_DLL_SEARCH_DIRECTORIES</c>: the app directory of this repository's
/// RID-specific builds, or <c>runtimes/linux-x64/native/</c> of a portable one). Only if that fails does it copy every native file
/// of the NuGet packages (≈0.5 GB) into <c>&lt;output&gt;/cpu/</c> and load from there. The <c>[DllImport("LibTorchSharp")]</c>
/// calls then bind to the library already loaded. So the copy to fix is the first <c>libLibTorchSharp.so</c> in
/// <c>NATIVE_DLL_SEARCH_DIRECTORIES</c>.
/// </para>
/// <para>
/// The fix, once per output directory, before the first torch call: (1) mark the <c>GLIBCXX_3.4.32</c> requirement of
/// that copy weak (<see cref="ElfVersionPatcher"/>; the NuGet cache is never touched), so the loader accepts it; (2) build
/// with g++ a one-function shim library defining <c>std::ios_base_library_init()</c> next to it and load the shim with
/// <c>RTLD_GLOBAL</c>, so the loader binds the now-optional versioned reference to the shim's unversioned definition.
/// (<c>patchelf --add-needed</c> would also work but is not installed on fresh machines; <see cref="NativeLibrary"/>
/// loads with <c>RTLD_LOCAL</c>, hence the direct <c>dlopen</c>.) Where the process's libstdc++ already defines the
/// symbol (GCC 13+, e.g. Ubuntu 24.04 and the Docker images), on other operating systems, or with a TorchSharp that does
/// not need the version, nothing is touched.
/// </para>
/// </remarks>
public static class TorchRuntime
{
    private const string RequiredVersion = "GLIBCXX_3.4.32";
    private const string MissingSymbol = "_ZSt21ios_base_library_initv"; // std::ios_base_library_init()
    private const string NativeLibraryFile = "libLibTorchSharp.so";
    private const string ShimFile = "libuld_glibcxx_shim.so";
    private const string LockFile = ".uld-torch-fix.lock";

    // A function-local static so the (idempotent, reference-counted) stream initialisation runs when called, as
    // GCC 13's own definition does.
    private const string ShimSource =
        "#include <ios>\nnamespace std { void ios_base_library_init() { static ios_base::Init init; } }\n";

    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(3);
    private static readonly Lock Gate = new();
    private static volatile bool _initialized;

    /// <summary>
    /// Where the fix was applied (the directory holding the patched library and the shim), or null if this process
    /// needed none. Valid after <see cref="EnsureInitialized"/>.
    /// </summary>
    public static string? FixedDirectory { get; private set; }

    /// <summary>
    /// Call before the first use of TorchSharp. Idempotent and thread-safe; also safe when several processes start on
    /// the same output directory at once. Throws <see cref="InvalidOperationException"/> with the reason and the remedy
    /// when the fix is needed but cannot be applied; a later call retries.
    /// </summary>
    public static void EnsureInitialized()
    {
        if (_initialized) return;
        lock (Gate)
        {
            if (_initialized) return;
            if (OperatingSystem.IsLinux()) FixIfNeeded();
            _initialized = true;
        }
    }

    [SupportedOSPlatform("linux")]
    private static void FixIfNeeded()
    {
        if (LibStdCxxDefinesMissingSymbol())
        {
            LoadWhereFound();
            return;
        }

        var directory = FindNativeDirectory();
        var library = Path.Combine(directory, NativeLibraryFile);
        var shim = Path.Combine(directory, ShimFile);

        var flags = ElfVersionPatcher.GetVersionNeedFlags(File.ReadAllBytes(library), RequiredVersion);
        if (flags is null) return; // a TorchSharp build that does not need GCC 13's libstdc++: nothing to fix

        // Once an earlier run has fixed this directory, no writes are needed (so a since read-only output still works).
        if ((flags & ElfVersionPatcher.VerFlgWeak) == 0 || !File.Exists(shim))
        {
            // Parallel processes (test hosts, a trainer next to a server) may get here at once: one patches, the others
            // wait and then find the work done. The writes are atomic renames, so even without the lock nobody could
            // see a half-written file; the lock only avoids doing the work twice.
            using var _ = AcquireLock(Path.Combine(directory, LockFile), directory);
            try
            {
                // Shim first: if it cannot be built, the library stays exactly as the package shipped it.
                if (!File.Exists(shim)) BuildShim(shim);
                ElfVersionPatcher.MarkVersionWeak(library, RequiredVersion);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException and not FileNotFoundException)
            {
                throw NotWritable(directory, e);
            }
        }

        // The shim must be in the global scope before libLibTorchSharp.so is loaded, or its reference stays unbound.
        if (dlopen(shim, RtldNow | RtldGlobal) == IntPtr.Zero)
            throw new InvalidOperationException($"Could not load {shim}: {Marshal.PtrToStringUTF8(dlerror())}. Delete it to have it rebuilt.");

        // Load the patched library now, by the path TorchSharp will find, so a failure surfaces here with the loader's
        // reason instead of as TorchSharp's fallback (copying ~0.5 GB of package natives, then failing anyway).
        try
        {
            NativeLibrary.Load(library);
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException($"{library} still does not load after the {RequiredVersion} fix: {e.Message}", e);
        }
        FixedDirectory = directory;
    }

    /// <summary>
    /// Whether the libstdc++ this process binds to defines <c>std::ios_base_library_init()</c> (introduced with
    /// GLIBCXX_3.4.32): the copy libLibTorchSharp.so will get. Throws <see cref="DllNotFoundException"/> when there is none.
    /// </summary>
    private static bool LibStdCxxDefinesMissingSymbol()
    {
        // TorchSharp's native code links libstdc++.so.6; a system without it (a slim container image) cannot run it at
        // all, so say so in one line instead of letting TorchSharp fail later with its package-restore advice.
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out var libstdcxx))
            throw new DllNotFoundException("libstdc++.so.6, the GNU C++ runtime TorchSharp's native code links, is not installed " +
                                           "(Debian/Ubuntu: apt-get install libstdc++6; the trainer image installs it).");
        return NativeLibrary.TryGetExport(libstdcxx, MissingSymbol, out _);
    }

    /// <summary>
    /// Where no fix is needed (Ubuntu 24.04, the trainer image), loads the library now, as the fixed path below does:
    /// a dependency the system lacks then surfaces as a <see cref="DllNotFoundException"/> naming it, which the CLI
    /// prints as one line, instead of TorchSharp's advice about restoring its packages. Not found in any probed
    /// directory: left to TorchSharp's own search.
    /// </summary>
    private static void LoadWhereFound()
    {
        var library = ProbedDirectories().Select(d => Path.Combine(d, NativeLibraryFile)).FirstOrDefault(File.Exists);
        if (library is not null) NativeLibrary.Load(library);
    }

    private static List<string> ProbedDirectories() =>
        ((AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string) ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Append(AppContext.BaseDirectory)
        .Select(Path.GetFullPath)
        .Distinct()
        .ToList();

    /// <summary>The first directory the runtime will probe that has the library, exactly as TorchSharp's load will.</summary>
    private static string FindNativeDirectory()
    {
        var probed = ProbedDirectories();
        return probed.FirstOrDefault(d => File.Exists(Path.Combine(d, NativeLibraryFile)))
               ?? throw new InvalidOperationException(
                   $"TorchSharp's {NativeLibraryFile} needs a fix for this system's libstdc++ (it lacks {RequiredVersion}), " +
                   $"but it is not in any directory the runtime probes ({string.Join(", ", probed)}). " +
                   "Build or publish the app so that the TorchSharp-cpu native files are part of its output " +
                   "(runtimes/linux-x64/native/, or the app directory for a RID-specific publish).");
    }

    [SupportedOSPlatform("linux")]
    private static FileStream AcquireLock(string path, string directory)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw NotWritable(directory, e); // EACCES, or EROFS on a read-only mount
        }
        // A POSIX record lock (fcntl) excludes other processes; it goes away with the process, so a crash cannot leave
        // the directory locked. Threads of this process are already serialised by Gate.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                file.Lock(0, 1);
                return file;
            }
            catch (IOException e) when (waited.Elapsed > LockTimeout)
            {
                file.Dispose();
                throw new InvalidOperationException($"Timed out after {LockTimeout} waiting for another process's lock on {path} (applying the TorchSharp libstdc++ fix).", e);
            }
            catch (IOException)
            {
                Thread.Sleep(100); // another process is applying the fix
            }
        }
    }

    private static InvalidOperationException NotWritable(string directory, Exception inner) => new(
        $"TorchSharp's {NativeLibraryFile} in {directory} needs a one-time fix for this system's libstdc++ (it lacks " +
        $"{RequiredVersion}; Debian 12 has GCC 12's), but writing there failed ({inner.Message}). Run the app once with write " +
        $"access to {directory}, or install a GCC 13+ libstdc++, or use the Ubuntu 24.04-based Docker image.", inner);

    private static void BuildShim(string output)
    {
        var work = Directory.CreateTempSubdirectory("uld-glibcxx-shim-");
        var source = Path.Combine(work.FullName, "shim.cpp");
        // Built beside the target and renamed into place, so no process ever loads a half-written file.
        var temp = $"{output}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllText(source, ShimSource);
            var start = new ProcessStartInfo("g++", ["-shared", "-fPIC", "-O2", "-o", temp, source])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            Process process;
            try
            {
                process = Process.Start(start) ?? throw new InvalidOperationException("Could not start g++.");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException(
                    $"TorchSharp's {NativeLibraryFile} needs {RequiredVersion}, which this system's libstdc++ lacks. The " +
                    "automatic fix compiles a one-function shim with g++, which is not installed: install it " +
                    "(Debian/Ubuntu: `sudo apt-get install g++`) and run again, or install a GCC 13+ libstdc++.", e);
            }
            using (process)
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEnd();
                if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
                {
                    process.Kill();
                    throw new InvalidOperationException("g++ did not finish building the libstdc++ shim within 2 minutes.");
                }
                if (process.ExitCode != 0)
                    throw new InvalidOperationException(
                        $"g++ failed (exit {process.ExitCode}) to build the libstdc++ shim TorchSharp needs here " +
                        $"(is libstdc++-dev installed? `sudo apt-get install g++`): {stderr}{stdout.Result}");
            }
            File.Move(temp, output, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
            work.Delete(recursive: true);
        }
    }

    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    // glibc ≥ 2.34 exports these from libc.so.6 (libLibTorchSharp.so itself needs GLIBC_2.34).
    [DllImport("libc.so.6", EntryPoint = "dlopen")]
    private static extern IntPtr dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string fileName, int flags);

    [DllImport("libc.so.6", EntryPoint = "dlerror")]
    private static extern IntPtr dlerror();
}
