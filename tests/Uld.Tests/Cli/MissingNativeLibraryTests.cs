using System.CommandLine;
using System.Runtime.InteropServices;
using Uld.Cli;
using Uld.Tests.Support;

namespace Uld.Tests.Cli;

/// <summary>A native library the system lacks (the trainer image without libstdc++) is one error line, not a "defect".</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class MissingNativeLibraryTests
{
    [Fact]
    public void A_library_the_loader_cannot_find_is_one_line_and_exit_code_3()
    {
        var parse = new RootCommand().Parse([]);
        var (exit, output) = ConsoleCapture.Run(() => CliErrors.Run(parse, () =>
        {
            NativeLibrary.Load("libuld-not-installed.so.1"); // a real loader failure
            return 0;
        }));
        Assert.Equal(CliErrors.MissingSystemLibrary, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: a native library could not be loaded: ", lines[0]);
        Assert.Contains("libuld-not-installed.so.1", lines[0]);
        Assert.DoesNotContain("defect", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public void A_load_failure_inside_a_type_initializer_is_reported_the_same_way()
    {
        var parse = new RootCommand().Parse([]);
        var (exit, output) = ConsoleCapture.Run(() => CliErrors.Run(parse, () =>
            throw new TypeInitializationException("Native.Torch", new DllNotFoundException("libstdc++.so.6 is not installed"))));
        Assert.Equal(CliErrors.MissingSystemLibrary, exit);
        Assert.Equal("error: a native library could not be loaded: libstdc++.so.6 is not installed", output.Trim());
    }

    [Fact]
    public void Other_exceptions_remain_defects_with_their_stack_trace()
    {
        var parse = new RootCommand().Parse([]);
        var (exit, output) = ConsoleCapture.Run(() => CliErrors.Run(parse, () => throw new InvalidOperationException("boom")));
        Assert.Equal(CliErrors.Defect, exit);
        Assert.Contains("a defect, please report it", output);
    }
}
