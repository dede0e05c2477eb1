using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MobileNet.Orleans.Contracts.Security;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Dashboard.Tests;

/// <summary>Issue 13, acceptance 2, with real silo processes: without credentials the dashboard and its JSON refuse; with them they work.</summary>
[Trait("Category", "E2E"), Collection(DashboardCollection.Name)]
public sealed class DashboardAccessTests(DashboardClusterFixture fixture, ITestOutputHelper output)
{
    private static readonly string[] ProtectedPaths =
    [
        "/dashboard/", "/dashboard/app.js", "/dashboard/api/jobs", "/dashboard/api/cluster", "/dashboard/api/jobs/job-x1", "/dashboard/api/jobs/job-x1/thumbnails/0", "/dashboard/api/me",
    ];

    [SkippableFact]
    public async Task Get_WithoutCredentials_RefusesPagesAndJson()
    {
        Require();
        using var http = fixture.Http(fixture.Ports[0].Http);
        foreach (var path in ProtectedPaths)
        {
            using var asJson = await http.SendAsync(Request(path, "application/json"));
            using var asPage = await http.SendAsync(Request(path, "text/html"));
            output.WriteLine($"{path}: json {(int)asJson.StatusCode}, page {(int)asPage.StatusCode} {asPage.Headers.Location}");
            Assert.Equal(HttpStatusCode.Unauthorized, asJson.StatusCode);
            Assert.DoesNotContain("\"jobs\"", await asJson.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.True(asPage.StatusCode == HttpStatusCode.Unauthorized || HttpStatus.IsRedirectToLogin(asPage), $"{path} as a page answered {(int)asPage.StatusCode}");
        }

        // The probes' endpoints stay open (over HTTPS now).
        using var ready = await http.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [SkippableTheory]
    [InlineData("Bearer not-the-token-0123456789abcdef")]
    [InlineData("Basic YWRtaW46YWRtaW4=")]
    public async Task Get_WithWrongCredentials_Refuses(string authorization)
    {
        Require();
        using var http = fixture.Http(fixture.Ports[0].Http);
        using var request = Request("/dashboard/api/jobs", "application/json");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var forged = Request("/dashboard/api/jobs", "application/json");
        forged.Headers.Add("Cookie", "mobilenet-dashboard=admin.4102444800.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        using var forgedResponse = await http.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, forgedResponse.StatusCode);
    }

    [SkippableFact]
    public async Task Get_WithTokenOrCertificate_Works()
    {
        Require();
        var job = await fixture.SubmitAsync();
        foreach (var (http, admin) in fixture.Ports)
        {
            using var token = fixture.Http(http);
            token.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.OperatorToken);
            // The job list is read from the job registry, which each silo refreshes on its own: a job just
            // submitted shows within a few refreshes.
            var jobs = await JsonAsync(token, "/dashboard/api/jobs");
            for (var attempt = 0; attempt < 50 && !Lists(jobs, job); attempt++)
            {
                await Task.Delay(200);
                jobs = await JsonAsync(token, "/dashboard/api/jobs");
            }

            Assert.Contains(jobs.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("jobId").GetString() == job);
            var detail = await JsonAsync(token, $"/dashboard/api/jobs/{job}");
            Assert.Equal(job, detail.GetProperty("jobId").GetString());
            var cluster = await JsonAsync(token, "/dashboard/api/cluster");
            Assert.True(cluster.GetProperty("silos").GetArrayLength() >= 1);
            using var page = await token.GetAsync(new Uri("/dashboard/", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("/dashboard/app.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // Orleans' dashboard: on the admin port only, and for admins only.
            using var adminToken = fixture.Http(admin);
            adminToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.OperatorToken);
            using var orleans = await adminToken.GetAsync(new Uri("/orleans/", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, orleans.StatusCode);
            using var orleansOnHttpPort = await token.GetAsync(new Uri("/orleans/", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, orleansOnHttpPort.StatusCode);
            using var readerOnAdmin = fixture.Http(admin);
            readerOnAdmin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ReaderToken);
            using var refused = await readerOnAdmin.GetAsync(new Uri("/orleans/", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // A reader's client certificate opens the dashboard; Orleans' needs an admin certificate.
        using var reader = fixture.Http(fixture.Ports[0].Http, CallerRole.Reader);
        var me = await JsonAsync(reader, "/dashboard/api/me");
        Assert.Equal("reader", me.GetProperty("role").GetString());
        using var readerAdminPort = fixture.Http(fixture.Ports[0].Admin, CallerRole.Reader);
        using var readerOrleans = await readerAdminPort.GetAsync(new Uri("/orleans/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, readerOrleans.StatusCode);
        using var adminCert = fixture.Http(fixture.Ports[0].Admin, CallerRole.Admin);
        using var adminOrleans = await adminCert.GetAsync(new Uri("/orleans/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, adminOrleans.StatusCode);

        // A certificate from another CA gets nothing: the TLS handshake is refused.
        using var foreign = fixture.Http(fixture.Ports[0].Http, certificateFolder: TestCertificates.Shared.OtherAuthorityAdmin);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => foreign.GetAsync(new Uri("/dashboard/api/jobs", UriKind.Relative)));
    }

    [SkippableFact]
    public async Task SignIn_WithToken_SetsSessionCookieThatOpensTheJson()
    {
        Require();
        using var http = fixture.Http(fixture.Ports[1].Http);
        using var wrong = await http.PostAsync(new Uri("/dashboard/login", UriKind.Relative), Form("0123456789abcdef0123456789abcdef", "/dashboard/"));
        Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        using var right = await http.PostAsync(new Uri("/dashboard/login", UriKind.Relative), Form(fixture.ReaderToken, "https://elsewhere.example/"));
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal("/dashboard/", right.Headers.Location?.ToString());
        var cookie = Assert.Single(right.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        // The session works on the other silo too: it is signed with the token, not a per-silo key.
        using var other = fixture.Http(fixture.Ports[0].Http);
        using var request = Request("/dashboard/api/me", "application/json");
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var response = await other.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"role\":\"reader\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private void Require()
    {
        TestStorage.RequireConnectionString();
        Assert.NotNull(fixture.Cluster);
    }

    private static HttpRequestMessage Request(string path, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Accept.ParseAdd(accept);
        return request;
    }

    private static FormUrlEncodedContent Form(string token, string returnUrl) => new([new("token", token), new("returnUrl", returnUrl)]);

    private static bool Lists(JsonElement jobs, string job) =>
        jobs.GetProperty("jobs").EnumerateArray().Any(j => j.GetProperty("jobId").GetString() == job);

    private static async Task<JsonElement> JsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
