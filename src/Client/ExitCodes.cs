namespace MobileNet.Orleans.Client;

/// <summary>The CLI's exit codes: scripts rely on them.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int RuntimeFailure = 1;
    public const int BadInput = 2;

    /// <summary>The cluster refused the call: this client's certificate does not carry the role the command needs.</summary>
    public const int NotAllowed = 3;
}

/// <summary>Bad usage or bad input (missing model, unreadable labels, ...): exit code 2, message says what to fix.</summary>
public sealed class CliUsageException(string message) : Exception(message);
