using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MobileNet.Orleans.Contracts.Jobs;
using MobileNet.Orleans.Contracts.Security;
using MobileNet.Orleans.Dashboard.Authentication;
using MobileNet.Orleans.Dashboard.Hosting;

namespace MobileNet.Orleans.Dashboard.Api;

/// <summary>The dashboard's routes: the page and its assets, the JSON endpoints, thumbnails, sign-in and sign-out.</summary>
public static class DashboardEndpoints
{
    private const string JsonType = "application/json; charset=utf-8";

    public static IEndpointRouteBuilder MapDashboardEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var assets = new DashboardAssets();
        endpoints.MapGet(DashboardPaths.Login, (HttpContext context) => assets.ServeLoginAsync(context)).AllowAnonymous();
        endpoints.MapGet(DashboardPaths.Root + "/login.css", (HttpContext context) => assets.ServeAsync(context, "app.css")).AllowAnonymous();
        endpoints.MapPost(DashboardPaths.Login, SignInAsync).AllowAnonymous().DisableAntiforgery();
        endpoints.MapPost(DashboardPaths.Logout, SignOut).AllowAnonymous().DisableAntiforgery();

        var pages = endpoints.MapGroup(DashboardPaths.Root).RequireAuthorization(DashboardAuthentication.ReaderPolicy);
        pages.MapGet("/", (HttpContext context) => assets.ServeAsync(context, "index.html"));
        pages.MapGet("/app.js", (HttpContext context) => assets.ServeAsync(context, "app.js"));
        pages.MapGet("/app.css", (HttpContext context) => assets.ServeAsync(context, "app.css"));

        var api = endpoints.MapGroup(DashboardPaths.Api).RequireAuthorization(DashboardAuthentication.ReaderPolicy);
        api.MapGet("/jobs", async (DashboardQueries queries) => Results.Bytes(await queries.JobsAsync(), JsonType));
        api.MapGet("/jobs/{jobId}", async (string jobId, DashboardQueries queries) =>
        {
            if (!JobId.IsValid(jobId))
            {
                return Results.BadRequest(new { error = $"'{jobId}' is not a job id" });
            }

            return await queries.JobAsync(jobId) is { } body ? Results.Bytes(body, JsonType) : Results.NotFound(new { error = $"job '{jobId}' not found" });
        });
        api.MapGet("/jobs/{jobId}/thumbnails/{index:int}", (string jobId, int index, HttpContext context, DashboardQueries queries) =>
        {
            if (queries.Thumbnail(jobId, index) is not { } thumbnail)
            {
                return Results.NotFound();
            }

            context.Response.Headers.CacheControl = "private, max-age=3600";
            return Results.Bytes(thumbnail.Jpeg, "image/jpeg");
        });
        api.MapGet("/cluster", async (DashboardQueries queries) => Results.Bytes(await queries.ClusterAsync(), JsonType));
        api.MapGet("/me", (HttpContext context) => Results.Json(new
        {
            name = context.User.Identity?.Name,
            role = context.User.Claims.FirstOrDefault(c => c.Type == System.Security.Claims.ClaimTypes.Role)?.Value,
        }));
        return endpoints;
    }

    /// <summary>Form post of a token: sets the session cookie and goes back to the page asked for.</summary>
    private static async Task<IResult> SignInAsync(HttpContext context, IOptions<WebDashboardOptions> options, TimeProvider time)
    {
        var form = await context.Request.ReadFormAsync();
        var token = form["token"].ToString().Trim();
        var returnUrl = form["returnUrl"].ToString();
        var settings = options.Value;
        if (!context.Request.IsHttps && !TokenAuthenticationHandler.IsLoopback(context.Connection.RemoteIpAddress))
        {
            return Results.Text("Tokens are accepted over HTTPS only (this silo serves plain HTTP to its own machine only).", statusCode: StatusCodes.Status403Forbidden);
        }

        var role = token.Length == 0 ? null : TokenAuthenticationHandler.RoleOfToken(settings, token);
        if (role is not { } granted)
        {
            return Results.Redirect($"{DashboardPaths.Login}?failed=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        var expires = time.GetUtcNow() + settings.SessionLifetime;
        context.Response.Cookies.Append(TokenAuthenticationHandler.CookieName, TokenAuthenticationHandler.CreateSession(settings, granted, expires), new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            Expires = expires,
        });
        return Results.Redirect(IsLocalPath(returnUrl) ? returnUrl : DashboardPaths.Root + "/");
    }

    private static IResult SignOut(HttpContext context)
    {
        context.Response.Cookies.Delete(TokenAuthenticationHandler.CookieName, new CookieOptions { Path = "/" });
        return Results.Redirect(DashboardPaths.Login);
    }

    /// <summary>Only a path on this server: never another host (open redirect), never a protocol-relative URL.</summary>
    internal static bool IsLocalPath(string url) =>
        url.Length > 0 && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Contains("://", StringComparison.Ordinal);
}

/// <summary>The page's files, embedded in the assembly (nothing loaded from elsewhere), served with an ETag.</summary>
internal sealed class DashboardAssets
{
    private readonly Dictionary<string, (byte[] Content, string Type, string ETag)> files = new(StringComparer.Ordinal);

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        foreach (var name in new[] { "index.html", "login.html", "app.js", "app.css" })
        {
            using var stream = assembly.GetManifestResourceStream("dashboard/" + name)
                ?? throw new InvalidOperationException($"dashboard asset {name} is not embedded in {assembly.GetName().Name}");
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var content = memory.ToArray();
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                _ => "text/css; charset=utf-8",
            };
            files[name] = (content, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..16] + "\"");
        }
    }

    /// <summary>The sign-in form, with the page to return to (a local path only) and why the last try failed.</summary>
    public Task ServeLoginAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var returnUrl = query["returnUrl"].ToString();
        var html = System.Text.Encoding.UTF8.GetString(files["login.html"].Content)
            .Replace("{{returnUrl}}", HtmlEncoder.Default.Encode(DashboardEndpoints.IsLocalPath(returnUrl) ? returnUrl : DashboardPaths.Root + "/"), StringComparison.Ordinal)
            .Replace("{{message}}", query.ContainsKey("failed") ? "<p class=\"error\" id=\"login-error\">That token is not accepted.</p>" : "", StringComparison.Ordinal);
        SecurityHeaders(context.Response.Headers);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(html);
    }

    private static void SecurityHeaders(IHeaderDictionary headers)
    {
        // The page loads only what this server serves: no CDN, no inline scripts or styles.
        headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
    }

    public Task ServeAsync(HttpContext context, string name)
    {
        var (content, type, etag) = files[name];
        var headers = context.Response.Headers;
        headers.ETag = etag;
        headers.CacheControl = "no-cache";
        SecurityHeaders(headers);
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        context.Response.ContentType = type;
        return context.Response.Body.WriteAsync(content).AsTask();
    }
}
