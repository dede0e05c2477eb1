using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Dashboard.Hosting;

namespace MobileNet.Orleans.Dashboard.Authentication;

/// <summary>
/// Token sign-in: <c>Authorization: Bearer &lt;token&gt;</c> (scripts), or the session cookie set by the sign-in form
/// (browsers). The cookie holds the role, an expiry and an HMAC over both keyed by the token, so every silo that has
/// the token accepts it (behind a load balancer too) and changing the token ends every session. Plain HTTP (a silo
/// without TLS) is answered only on the loopback address; there, with
/// <see cref="WebDashboardOptions.AllowLoopbackWithoutCredentials"/>, no credentials are needed (reader).
/// </summary>
public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<WebDashboardOptions> dashboard,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "mobilenet-dashboard-token";
    public const string CookieName = "mobilenet-dashboard";

    private WebDashboardOptions Settings => dashboard.Value;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var loopback = IsLoopback(Context.Connection.RemoteIpAddress);
        if (!Request.IsHttps && !loopback)
        {
            return Task.FromResult(AuthenticateResult.Fail("plain HTTP is answered on the loopback address only; configure Tls:CertificateDirectory"));
        }

        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(RoleOfToken(Settings, header["Bearer ".Length..].Trim()) is { } role
                ? Success("token", role)
                : AuthenticateResult.Fail("the token is not accepted"));
        }

        if (Request.Cookies.TryGetValue(CookieName, out var cookie) && !string.IsNullOrEmpty(cookie))
        {
            return Task.FromResult(VerifySession(cookie) is { } role ? Success("session", role) : AuthenticateResult.Fail("the session expired or is not valid; sign in again"));
        }

        return Task.FromResult(Settings.AllowLoopbackWithoutCredentials && loopback ? Success("loopback", CallerRole.Reader) : AuthenticateResult.NoResult());
    }

    /// <summary>Pages go to the sign-in form; the JSON endpoints and scripts get 401 with the reason.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (WantsHtml(Request))
        {
            var target = Request.PathBase + Request.Path + Request.QueryString;
            Response.Redirect($"{DashboardPaths.Login}?returnUrl={Uri.EscapeDataString(target)}");
            return;
        }

        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new { error = result.Failure?.Message ?? "credentials required: a client certificate from the deployment's CA or a dashboard token" });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Response.WriteAsJsonAsync(new { error = "your role may not open this page (Orleans' dashboard needs admin)" });
    }

    /// <summary>The role a token grants, or null; compared in constant time.</summary>
    internal static CallerRole? RoleOfToken(WebDashboardOptions settings, string token)
    {
        var given = Encoding.UTF8.GetBytes(token);
        if (settings.OperatorToken is { } op && CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(op)))
        {
            return CallerRole.Admin;
        }

        if (settings.ReaderToken is { } reader && CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(reader)))
        {
            return CallerRole.Reader;
        }

        return null;
    }

    /// <summary>Cookie value for a session of <paramref name="role"/>: <c>role.expiresUnix.hmac</c>.</summary>
    internal static string CreateSession(WebDashboardOptions settings, CallerRole role, DateTimeOffset expires)
    {
        var payload = $"{(role == CallerRole.Admin ? "admin" : "reader")}.{expires.ToUnixTimeSeconds()}";
        return payload + "." + Mac(TokenFor(settings, role) ?? throw new InvalidOperationException("no token for " + role), payload);
    }

    private CallerRole? VerifySession(string cookie)
    {
        var parts = cookie.Split('.');
        if (parts.Length != 3 || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var expires))
        {
            return null;
        }

        CallerRole? role = parts[0] switch { "admin" => CallerRole.Admin, "reader" => CallerRole.Reader, _ => null };
        if (role is not { } r || TokenFor(Settings, r) is not { } token || DateTimeOffset.FromUnixTimeSeconds(expires) <= time.GetUtcNow())
        {
            return null;
        }

        var expected = Mac(token, parts[0] + "." + parts[1]);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts[2])) ? r : null;
    }

    private static string? TokenFor(WebDashboardOptions settings, CallerRole role) => role == CallerRole.Admin ? settings.OperatorToken : settings.ReaderToken;

    private static string Mac(string token, string payload)
    {
        var key = SHA256.HashData(Encoding.UTF8.GetBytes("mobilenet-dashboard-session\n" + token));
        return Base64UrlEncode(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(payload)));
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private AuthenticateResult Success(string how, CallerRole role) =>
        AuthenticateResult.Success(new AuthenticationTicket(DashboardAuthentication.Principal(how, role, SchemeName), SchemeName));

    internal static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    internal static bool WantsHtml(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && !request.Path.StartsWithSegments(DashboardPaths.Api, StringComparison.Ordinal)
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
