using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace MobileNet.Orleans.Contracts.Jobs;

/// <summary>
/// Job ids name grains and blob folders (<c>{output}/{jobId}/...</c>), so they are restricted to a safe alphabet:
/// lowercase letters, digits and hyphens, 3-63 characters, starting with a letter or digit.
/// </summary>
public static partial class JobId
{
    public static bool IsValid(string? jobId) => jobId is not null && Pattern().IsMatch(jobId);

    /// <summary>Throws <see cref="ArgumentException"/> saying what is wrong with <paramref name="jobId"/>.</summary>
    public static void Validate(string? jobId)
    {
        if (!IsValid(jobId))
        {
            throw new ArgumentException(
                $"job id '{jobId}' must be 3-63 characters of lowercase letters, digits and hyphens, starting with a letter or digit",
                nameof(jobId));
        }
    }

    /// <summary>A new id such as <c>job-20261126-001530-3fa9c1</c>: sortable by submission time, unique by its random tail.</summary>
    public static string New(DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"job-{now.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{2,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
