using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Tests.Bench.Processes;

/// <summary>How uld-bench quotes a failed child process: the app's whole error message, or its last line.</summary>
public sealed class ChildOutputTests
{
    [Fact]
    public void An_error_message_the_console_wrapped_is_quoted_whole_on_one_line()
    {
        var output = "wrote x\nerror: llama2.c's run.c cannot run this model: rope_scaling, rope_theta 500000\n(run.c uses 10000).\n";
        Assert.Equal("error: llama2.c's run.c cannot run this model: rope_scaling, rope_theta 500000 (run.c uses 10000).", ChildOutput.Reason(output));
    }

    [Fact]
    public void Without_an_error_line_the_last_line_is_quoted()
    {
        Assert.Equal("TypeError: x is not a function", ChildOutput.Reason("model: a\n    at foo (b.mjs:1)\nTypeError: x is not a function\n\n"));
        Assert.Equal("speed.mjs failed", new ChildOutput(1, "ok\nspeed.mjs failed\n", "", 0).LastLine);
    }

    [Fact]
    public void Progress_bars_redrawn_with_carriage_returns_are_not_quoted_as_the_reason()
    {
        var stdout = "uld: 0%\r\nuld: 0%\r\nuld: 33%\r\n   \r\n";
        Assert.Equal("Killed: out of memory", new ChildOutput(137, stdout, "Fatal\nKilled: out of memory\n", 0).LastLine);
        Assert.Equal("loaded base", ChildOutput.Reason("loaded base\r\nuld: 0%\ruld: 42%\r\n"));
    }

    [Fact]
    public void A_program_that_is_not_installed_is_one_clear_error()
    {
        var error = Assert.Throws<UserErrorException>(() => ChildCommand.Execute("uld-no-such-program", ["--version"]));
        Assert.Equal("uld-no-such-program is not on PATH.", error.Message);
    }

    [Fact]
    public void A_program_past_its_time_limit_is_stopped()
    {
        var error = Assert.Throws<UserErrorException>(() => ChildCommand.Execute("sleep", ["30"], timeout: TimeSpan.FromMilliseconds(300)));
        Assert.Equal("sleep 30 did not finish within 0.3 s and was stopped.", error.Message);
    }
}
