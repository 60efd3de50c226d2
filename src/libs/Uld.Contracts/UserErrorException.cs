namespace Uld.Contracts;

/// <summary>
/// The caller's input is wrong (a missing or malformed file, an option out of range, an unknown name) and the message
/// says how. Thrown only where the code knows the input is at fault, so command-line tools can print the message
/// alone; every other exception is a defect and keeps its stack trace. Lives here, not in Uld.Cli, because the
/// libraries that read user files throw it too.
/// </summary>
public class UserErrorException : Exception
{
    public UserErrorException(string message) : base(message) { }
    public UserErrorException(string message, Exception inner) : base(message, inner) { }
}
