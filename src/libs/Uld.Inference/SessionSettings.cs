using Microsoft.ML.OnnxRuntime;

namespace Uld.Inference;

/// <summary>Where a session runs.</summary>
public enum ExecutionProvider
{
    Cpu,
    Cuda,
}

/// <summary>Thrown when the requested execution provider cannot be used here; the message says why in one line.</summary>
public sealed class ExecutionProviderUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// How one ONNX Runtime session is set up: its execution provider and its share of the process's threads. The
/// server derives these from one threading plan so that concurrent sessions never ask for more threads than cores.
/// </summary>
public sealed record SessionSettings
{
    /// <summary>Intra-op threads of the session (ONNX Runtime counts the calling thread as one of them).</summary>
    public int IntraOpThreads { get; init; } = Environment.ProcessorCount;
    /// <summary>
    /// Whether idle intra-op threads spin before sleeping: faster hand-offs when the session owns its cores, stolen
    /// cycles when other sessions or the HTTP stack need them.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;
    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Cpu;
    public int DeviceId { get; init; }

    public SessionOptions Create()
    {
        var options = OnnxCausalLm.Quiet(new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = Math.Max(1, IntraOpThreads),
            // A decoder graph is one chain of dependent operators: an inter-op pool would only add idle threads.
            InterOpNumThreads = 1,
        });
        try
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", AllowSpinning ? "1" : "0");
            if (ExecutionProvider == ExecutionProvider.Cuda) AppendCuda(options);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private void AppendCuda(SessionOptions options)
    {
        try
        {
            options.AppendExecutionProvider_CUDA(DeviceId);
        }
        catch (EntryPointNotFoundException e)
        {
            throw new ExecutionProviderUnavailableException(
                $"the CUDA execution provider (device {DeviceId}) is not available: this is a CPU-only build (build with -p:UldGpu=true for CUDA).", e);
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException)
        {
            throw new ExecutionProviderUnavailableException(
                $"the CUDA execution provider (device {DeviceId}) is not available: {e.Message.ReplaceLineEndings(" ").Trim()} " +
                "(ONNX Runtime 1.31's CUDA provider needs an NVIDIA driver, CUDA 13 and cuDNN 9 on the library path).", e);
        }
    }
}
