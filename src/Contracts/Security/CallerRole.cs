namespace MobileNet.Orleans.Contracts.Security;

/// <summary>
/// Who may call a grain method. Client roles are ordered (<see cref="Reader"/> &lt; <see cref="Submitter"/> &lt;
/// <see cref="Admin"/>) and come from the client certificate; <see cref="Silo"/> is the service itself (silo
/// certificates only): a method that requires it is worker-only and no client certificate can call it.
/// </summary>
public enum CallerRole
{
    None = 0,
    Reader = 1,
    Submitter = 2,
    Admin = 3,
    Silo = 100,
}

/// <summary>The least role a caller needs for this grain method; methods of MobileNet grain interfaces without it are refused.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RequiresRoleAttribute(CallerRole role) : Attribute
{
    public CallerRole Role { get; } = role;

    /// <summary>Whether a caller holding <paramref name="held"/> may call a method that requires <paramref name="required"/>.</summary>
    public static bool Allows(CallerRole required, CallerRole held) =>
        required != CallerRole.None && (held == CallerRole.Silo || (required != CallerRole.Silo && held >= required && held <= CallerRole.Admin));
}
