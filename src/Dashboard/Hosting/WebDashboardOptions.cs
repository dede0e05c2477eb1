using System.ComponentModel.DataAnnotations;

namespace MobileNet.Orleans.Dashboard.Hosting;

/// <summary>
/// The web dashboard (section <c>Dashboard</c>; env <c>Dashboard__OperatorToken=...</c>). Who may look: holders of a
/// client certificate from the deployment's CA (role from its OU: reader and up see the dashboard, admin also sees
/// Orleans' own), or of an operator/reader token. Nobody else, except, when
/// <see cref="AllowLoopbackWithoutCredentials"/> is set, requests from this machine's loopback address.
/// </summary>
public sealed class WebDashboardOptions : IValidatableObject
{
    public const string SectionName = "Dashboard";
    public const int MinTokenLength = 24;

    public bool Enabled { get; set; } = true;

    /// <summary>Grants the admin role (the dashboard and Orleans' dashboard). A secret: from a Kubernetes Secret or the environment.</summary>
    public string? OperatorToken { get; set; }

    /// <summary>Grants the reader role (the dashboard only).</summary>
    public string? ReaderToken { get; set; }

    /// <summary>
    /// Lets requests from the loopback address in without credentials, as reader. Meant for a developer's own machine
    /// (an <c>Tls:Insecure</c> cluster); off by default and in every deployment this repository ships.
    /// </summary>
    public bool AllowLoopbackWithoutCredentials { get; set; }

    /// <summary>Port of Orleans' own dashboard (admin role only); 0 = not served.</summary>
    [Range(0, 65535)]
    public int AdminPort { get; set; }

    /// <summary>How long one cluster query answers every open page (many pages, one query).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>How often an open page asks for fresh figures (it stops while the tab is hidden).</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Price of one node (silo) per hour, for the cost figures; unset: no costs shown.</summary>
    [Range(typeof(decimal), "0", "1000000")]
    public decimal? NodePricePerHour { get; set; }

    /// <summary>Sample thumbnails per job.</summary>
    [Range(0, 48)]
    public int Thumbnails { get; set; } = 12;

    /// <summary>Longest side of a thumbnail, pixels.</summary>
    [Range(32, 256)]
    public int ThumbnailSize { get; set; } = 128;

    /// <summary>Jobs whose thumbnails are kept in memory (least recently viewed dropped first).</summary>
    [Range(1, 1000)]
    public int ThumbnailJobs { get; set; } = 16;

    /// <summary>How long a signed-in browser session lasts.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, token) in new[] { (nameof(OperatorToken), OperatorToken), (nameof(ReaderToken), ReaderToken) })
        {
            if (token is not null && (token.Trim().Length < MinTokenLength || token.Any(char.IsWhiteSpace)))
            {
                yield return new ValidationResult($"Dashboard:{name} must be at least {MinTokenLength} characters without spaces (e.g. openssl rand -hex 24)", [name]);
            }
        }

        if (OperatorToken is not null && OperatorToken == ReaderToken)
        {
            yield return new ValidationResult("Dashboard:OperatorToken and Dashboard:ReaderToken must differ", [nameof(ReaderToken)]);
        }
    }
}
