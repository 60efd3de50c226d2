using System.Globalization;

namespace Uld.Bench.Processes;

/// <summary>
/// Resident memory of a process from Linux's /proc/PID/status: VmHWM (the peak resident set, kept by the kernel for
/// the life of the process) and VmRSS (now). .NET's Process.PeakWorkingSet64 reads the same field but only of a live
/// process it has refreshed, so the benchmarks read it themselves. Null where /proc is not there or the process is gone.
/// </summary>
public static class ProcessMemory
{
    public static long? PeakBytes(int pid) => Field(pid, "VmHWM:");

    public static long? CurrentBytes(int pid) => Field(pid, "VmRSS:");

    private static long? Field(int pid, string name)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
                var kib = line[name.Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
