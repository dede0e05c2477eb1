using System.Globalization;
using PuppeteerSharp;
using SkiaSharp;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Dashboard.Tests;

/// <summary>
/// Issue 13, acceptance 1: real headless Chromium (the distribution's package, scripts/install-chromium.sh) against
/// real silos running a real job. The job page must show the progress moving, a row per silo, the error classes and
/// thumbnails with labels; a screenshot is saved under the test output and checked for content.
/// </summary>
[Trait("Category", "E2E"), Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardClusterFixture fixture, ITestOutputHelper output)
{
    /// <summary>Where the distribution's Chromium lives (Debian: chromium, Ubuntu/Fedora: chromium-browser); MOBILENET_CHROMIUM overrides.</summary>
    private static string? FindChromium()
    {
        var configured = Environment.GetEnvironmentVariable("MOBILENET_CHROMIUM");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium", "/snap/bin/chromium" }.FirstOrDefault(File.Exists);
    }

    [SkippableFact]
    public async Task JobPage_DuringARealJob_ShowsProgressSilosErrorsAndThumbnails()
    {
        var chromium = FindChromium();
        // CI installs it (.ci/run): there a missing browser is a failure, not a skip.
        Assert.False(chromium is null && Environment.GetEnvironmentVariable("MOBILENET_REQUIRE_CHROMIUM") == "1", "MOBILENET_REQUIRE_CHROMIUM=1 but no Chromium found; run scripts/install-chromium.sh");
        Skip.If(chromium is null, "SKIPPED: no Chromium found (/usr/bin/chromium); run scripts/install-chromium.sh (CI does) or set MOBILENET_CHROMIUM");
        TestStorage.RequireConnectionString();
        Assert.NotNull(fixture.Cluster);
        var job = await fixture.SubmitAsync();
        var port = fixture.Ports[0].Http;

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            AcceptInsecureCerts = true, // the silo's certificate comes from the test CA
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
            Timeout = 120_000,
        });
        await using var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 1500 });
        page.DefaultTimeout = 120_000;
        var consoleErrors = new List<string>();
        page.Console += (_, e) =>
        {
            // The browser's own favicon probe (the sign-in page has none) is not the page's error.
            if (e.Message.Type == ConsoleType.Error && e.Message.Location?.URL?.Contains("favicon", StringComparison.Ordinal) != true)
            {
                consoleErrors.Add($"{e.Message.Text} ({e.Message.Location?.URL})");
            }
        };

        // Not signed in: the page sends the browser to the sign-in form, which returns to the job's page.
        await page.GoToAsync($"https://127.0.0.1:{port}/dashboard/#/jobs/{job}");
        await page.WaitForSelectorAsync("#token");
        Assert.Contains("/dashboard/login", page.Url, StringComparison.Ordinal);
        await page.TypeAsync("#token", fixture.OperatorToken);
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("#sign-in"));
        if (!page.Url.Contains('#', StringComparison.Ordinal))
        {
            await page.GoToAsync($"https://127.0.0.1:{port}/dashboard/#/jobs/{job}");
        }

        await page.WaitForSelectorAsync("#progress");

        // Progress moving: several different processed counts below the total, then the end.
        var directory = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var running = Path.Combine(directory, "dashboard-job-running.png");
        var seen = new List<long>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        string state = "";
        while (watch.Elapsed < TimeSpan.FromMinutes(6))
        {
            // State and count in one evaluation: two reads could straddle a page update (an old count beside the new state).
            var both = await page.EvaluateExpressionAsync<string>("(document.querySelector('h1 .state')?.textContent ?? '') + '|' + (document.querySelector('#processed .value')?.textContent ?? '')");
            state = both.Split('|')[0];
            var text = both[(both.IndexOf('|', StringComparison.Ordinal) + 1)..];
            if (long.TryParse(text.Split('/')[0].Trim().Replace(",", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var processed)
                && (seen.Count == 0 || seen[^1] != processed))
            {
                seen.Add(processed);
            }

            if (state is "Completed" or "Failed" or "Cancelled")
            {
                break;
            }

            // Half-way, with some thumbnails in: the picture the docs show.
            if (!File.Exists(running) && seen.Count > 0 && seen[^1] > fixture.Images / 2
                && await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#thumbnails img').length") > 0)
            {
                await page.ScreenshotAsync(running, new ScreenshotOptions { FullPage = true });
                AssertNotBlank(running, 0.05);
            }

            await Task.Delay(250);
        }

        output.WriteLine($"job {job} ended {state} after {watch.Elapsed.TotalSeconds:F0} s; processed counts the page showed: {string.Join(", ", seen)}");
        Assert.Equal("Completed", state);
        var moving = seen.Where(p => p > 0 && p < fixture.Images).ToList();
        Assert.True(moving.Count >= 2, $"the page showed fewer than two counts between 0 and {fixture.Images}: {string.Join(", ", seen)}");
        Assert.True(moving.SequenceEqual(moving.Order()), "progress went backwards: " + string.Join(", ", seen));
        Assert.Equal(fixture.Images, seen[^1]);

        // Per-silo rows: both silos labeled.
        await page.WaitForSelectorAsync("[data-silo-row]");
        var silos = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('[data-silo-row]')].map(r => r.dataset.siloRow)");
        output.WriteLine("silo rows: " + string.Join(", ", silos));
        Assert.Equal(2, silos.Length);

        // Error classes with counts and examples.
        var errors = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('[data-error-class]')].map(r => r.innerText.replace(/\\s+/g, ' '))");
        output.WriteLine("error classes: " + string.Join(" | ", errors));
        Assert.Contains(errors, e => e.StartsWith($"unsupported-format {DashboardClusterFixture.BrokenFiles} ", StringComparison.Ordinal) && e.Contains("broken-", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("empty-file 1 ", StringComparison.Ordinal) && e.Contains("empty.jpg", StringComparison.Ordinal));

        // Thumbnails, loaded, each with a label and a score.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#thumbnails img').length >= 6 && [...document.querySelectorAll('#thumbnails img')].every(i => i.complete && i.naturalWidth > 0)");
        var thumbs = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('[data-thumbnail]')].map(t => t.querySelector('.label').textContent + ' | ' + t.querySelector('.score').textContent)");
        output.WriteLine("thumbnails: " + string.Join("; ", thumbs));
        Assert.All(thumbs, t => Assert.Matches(@"^\S.* \| \d+\.\d% · .+", t));
        var widths = await page.EvaluateExpressionAsync<int[]>("[...document.querySelectorAll('#thumbnails img')].map(i => i.naturalWidth)");
        Assert.All(widths, w => Assert.InRange(w, 1, 256));

        var file = Path.Combine(directory, "dashboard-job.png");
        await page.ScreenshotAsync(file, new ScreenshotOptions { FullPage = true });
        output.WriteLine("screenshot: " + file);
        AssertNotBlank(file, 0.05);

        await page.GoToAsync($"https://127.0.0.1:{port}/dashboard/#/cluster");
        await page.WaitForSelectorAsync("[data-cluster-silo]");
        var clusterFile = Path.Combine(directory, "dashboard-cluster.png");
        await page.ScreenshotAsync(clusterFile);
        // One table on a light page: fewer coloured pixels, still far from blank.
        AssertNotBlank(clusterFile, 0.02);
        Assert.Empty(consoleErrors);
    }

    /// <summary>A page that rendered shows many colours and a good part of non-background pixels; a blank or error page does not.</summary>
    private void AssertNotBlank(string png, double minNonWhite)
    {
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        var colours = new HashSet<uint>();
        long nonWhite = 0, total = 0;
        for (var y = 0; y < bitmap.Height; y += 3)
        {
            for (var x = 0; x < bitmap.Width; x += 3)
            {
                var c = bitmap.GetPixel(x, y);
                colours.Add((uint)c);
                total++;
                if (c.Red < 235 || c.Green < 235 || c.Blue < 235)
                {
                    nonWhite++;
                }
            }
        }

        output.WriteLine($"{Path.GetFileName(png)}: {bitmap.Width}x{bitmap.Height}, {colours.Count} colours, {100.0 * nonWhite / total:F1}% non-white");
        Assert.True(colours.Count > 100, $"{png} looks blank: {colours.Count} colours");
        Assert.True(nonWhite > total * minNonWhite, $"{png} looks blank: {nonWhite} of {total} sampled pixels are not white");
    }
}
