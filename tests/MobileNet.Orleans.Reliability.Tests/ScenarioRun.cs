using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using MobileNet.Inference;
using MobileNet.Modeling.Architectures;
using MobileNet.Orleans.Client;
using Xunit.Abstractions;

namespace MobileNet.Orleans.Reliability.Tests;

/// <summary>
/// One reliability scenario: a cluster of real silo processes, a generated dataset and model uploaded through the
/// CLI, jobs submitted and checked through the CLI, and the figures (submitted, labeled, error rows, lost,
/// duplicated, time to recover) checked and appended to the results file.
/// </summary>
internal sealed partial class ScenarioRun : IAsyncDisposable
{
    /// <summary>Short timings for a local cluster, so faults are noticed within seconds (stated in docs/RELIABILITY.md).</summary>
    public static readonly IReadOnlyDictionary<string, string> FastFailover = new Dictionary<string, string>
    {
        ["Coordinator__LeaseDuration"] = "00:00:06",
        ["Worker__LeaseRenewInterval"] = "00:00:01",
        ["Worker__CallTimeout"] = "00:00:05",
    };

    private readonly ITestOutputHelper _output;
    private readonly List<string> _cliOutput = [];
    private readonly string _modelName;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ScenarioRun(string id, string title, string test, ITestOutputHelper output, SiloProcessCluster cluster, string workDirectory)
    {
        Id = id;
        Test = test;
        Title = title;
        _output = output;
        Cluster = cluster;
        WorkDirectory = workDirectory;
        Container = "rel-" + id.ToLowerInvariant().Replace('.', '-') + "-" + Guid.NewGuid().ToString("N")[..10];
        _modelName = NewModelName();
        Monitor = new JobMonitor(cluster);
    }

    public string Id { get; }

    public string Title { get; }

    /// <summary>The test method, so a figure names the command that reruns just it.</summary>
    public string Test { get; }

    public SiloProcessCluster Cluster { get; }

    public JobMonitor Monitor { get; }

    public string WorkDirectory { get; }

    /// <summary>The container holding this scenario's images (under <c>images/</c>).</summary>
    public string Container { get; }

    public string ModelName => _modelName;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>The storage account key the silos and the CLI were given: it must never show up in their output.</summary>
    public string AccountKey => AccountKeyPattern().Match(Cluster.Storage) is { Success: true } m ? m.Groups[1].Value : "";

    /// <summary>Starts a cluster of <paramref name="silos"/> silos on <paramref name="storage"/> (default: the test Azurite), uploads the model.</summary>
    public static async Task<ScenarioRun> StartAsync(
        string id,
        string title,
        ITestOutputHelper output,
        int silos,
        string? storage = null,
        IReadOnlyDictionary<string, string>? settings = null,
        [CallerMemberName] string test = "")
    {
        storage ??= TestStorage.RequireConnectionString();
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var logs = Path.Combine(RepositoryLayout.Root, ".run", "reliability", "logs", $"{stamp}-{id}");
        var merged = new Dictionary<string, string>(FastFailover);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        var cluster = new SiloProcessCluster(storage, merged, logs);
        var work = Path.Combine(Path.GetTempPath(), "mobilenet-reliability-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(work);
        var run = new ScenarioRun(id, title, test, output, cluster, work);
        output.WriteLine($"scenario {id}: {title}; silo logs in {logs}");
        var model = await SharedAssets.ModelAsync();
        await run.UploadModelAsync(model, run._modelName);
        if (silos > 0)
        {
            await cluster.StartSilosAsync(silos);
        }

        return run;
    }

    /// <summary>Uploads a further generated model under a name of its own; returns the name for <see cref="SubmitAsync"/>.</summary>
    public async Task<string> UploadModelAsync(GeneratedModel model, string? name = null)
    {
        name ??= NewModelName();
        await CliOkAsync(["models", "upload", name, "--file", model.ModelPath, "--labels", model.LabelsPath, .. Cluster.StorageArgs]);
        return name;
    }

    private static string NewModelName() => "rel-model-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Uploads the seeded generated dataset through <c>mobilenet upload</c>; returns the blob names (<c>images/...</c>).</summary>
    public async Task<IReadOnlyList<string>> UploadImagesAsync(int count, string prefix = "images")
    {
        var folder = await SharedAssets.ImagesAsync(count);
        await CliOkAsync(["upload", folder, "--to", $"{Container}/{prefix}", .. Cluster.StorageArgs]);
        return [.. Directory.GetFiles(folder).Select(f => $"{prefix}/{Path.GetFileName(f)}").Order(StringComparer.Ordinal)];
    }

    /// <summary><c>mobilenet submit</c> (without --wait); returns the job id, the last line of stdout.</summary>
    public async Task<string> SubmitAsync(string prefix = "images", string? model = null, int? shardSize = null, params string[] extra)
    {
        var (stdout, _) = await CliOkAsync(["submit", "--source", $"{Container}/{prefix}", "--model", model ?? _modelName,
            "--shard-size", (shardSize ?? ReliabilitySettings.ShardSize).ToString(CultureInfo.InvariantCulture), .. extra, .. Cluster.ClientArgs]);
        var jobId = stdout.TrimEnd().Split('\n')[^1].Trim();
        _output.WriteLine($"[{Elapsed.TotalSeconds,6:F1} s] submitted {jobId}");
        return jobId;
    }

    /// <summary>Waits until <paramref name="fraction"/> of <paramref name="images"/> are processed; returns that status.</summary>
    public async Task<JobProgress> WaitForProgressAsync(string jobId, int images, double fraction, TimeSpan? timeout = null)
    {
        var target = (long)Math.Ceiling(images * fraction);
        var status = await Monitor.WaitAsync(jobId, s => s.Processed >= target || s.IsTerminal, timeout ?? TimeSpan.FromMinutes(5));
        Assert.False(status.IsTerminal, $"job {jobId} ended ({status.State}) before it reached {fraction:P0}: the fault would come too late; use more images");
        _output.WriteLine($"[{Elapsed.TotalSeconds,6:F1} s] {jobId} at {status.Processed}/{images} ({status.Processed * 100.0 / images:F0}%)");
        return status;
    }

    /// <summary>Waits until the job ends, its final status as <c>mobilenet status --json</c> prints it.</summary>
    public async Task<JsonElement> WaitEndAsync(string jobId, TimeSpan? timeout = null)
    {
        await Monitor.WaitAsync(jobId, s => s.IsTerminal, timeout ?? TimeSpan.FromMinutes(10));
        return await StatusJsonAsync(jobId);
    }

    public async Task<JsonElement> StatusJsonAsync(string jobId)
    {
        var (stdout, _) = await CliOkAsync(["status", jobId, "--json", .. Cluster.ClientArgs]);
        using var json = JsonDocument.Parse(stdout);
        return json.RootElement.Clone();
    }

    /// <summary>
    /// <c>mobilenet results --format jsonl</c>, compared with the submitted names: lost (submitted, no row), duplicated
    /// (a name in more than one row) and foreign rows (a name never submitted). Every error row must carry a reason.
    /// </summary>
    public async Task<ResultFigures> CheckResultsAsync(string jobId, IReadOnlyCollection<string> submitted, bool partial = false)
    {
        var file = Path.Combine(WorkDirectory, $"results-{jobId}.jsonl");
        await CliOkAsync(["results", jobId, "--format", "jsonl", "-o", file, .. (partial ? ["--partial"] : Array.Empty<string>()), .. Cluster.ClientArgs]);
        var rows = File.ReadLines(file).Where(l => l.Length > 0).Select(LabelingRecordFormat.ParseJsonLine).ToList();
        var names = new HashSet<string>(submitted, StringComparer.Ordinal);
        var seen = rows.GroupBy(r => r.Image, StringComparer.Ordinal).ToList();
        var rowNames = new HashSet<string>(seen.Select(g => g.Key), StringComparer.Ordinal);
        var figures = new ResultFigures
        {
            Submitted = submitted.Count,
            Rows = rows.Count,
            Labeled = rows.Count(r => r.Succeeded),
            ErrorRows = rows.Count(r => !r.Succeeded),
            Lost = names.Count(n => !rowNames.Contains(n)),
            Duplicated = seen.Where(g => g.Count() > 1).Sum(g => g.Count() - 1),
            Foreign = seen.Count(g => !names.Contains(g.Key)),
            ErrorReasons = rows.Where(r => !r.Succeeded).GroupBy(r => ReasonCode(r.Error!)).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            Records = rows,
        };
        Assert.All(rows.Where(r => !r.Succeeded), r => Assert.False(string.IsNullOrWhiteSpace(r.Error), $"error row of {r.Image} has no reason"));
        _output.WriteLine($"results of {jobId}: {figures}");
        return figures;
    }

    /// <summary>Every silo the test did not stop is still running (no crash).</summary>
    public void AssertNoUnexpectedExits()
    {
        foreach (var silo in Cluster.Silos.Where(s => !s.StoppedByTest))
        {
            Assert.False(silo.HasExited, $"silo {silo.Name} exited (code {(silo.HasExited ? silo.ExitCode : 0)}) without being stopped by the test:\n{silo.LogTail}");
        }
    }

    /// <summary>The account key appears in no silo output and no CLI output of this scenario.</summary>
    public void AssertSecretsNotPrinted()
    {
        var key = AccountKey;
        Assert.False(string.IsNullOrEmpty(key), "the test storage connection string has no AccountKey to look for");
        foreach (var silo in Cluster.Silos)
        {
            Assert.DoesNotContain(silo.Lines, l => l.Line.Contains(key, StringComparison.Ordinal));
        }

        lock (_cliOutput)
        {
            Assert.DoesNotContain(_cliOutput, l => l.Contains(key, StringComparison.Ordinal));
        }
    }

    /// <summary>Appends the scenario's figures as one JSON line to the results file (docs/RELIABILITY.md is generated from it).</summary>
    public void Record(ResultFigures figures, double? recoverSeconds, string recoverMeaning, string state, IDictionary<string, object?>? notes = null)
    {
        var line = new Dictionary<string, object?>
        {
            ["scenario"] = Id,
            ["title"] = Title,
            ["test"] = Test,
            ["at"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
            ["images"] = figures.Submitted,
            ["labeled"] = figures.Labeled,
            ["errorRows"] = figures.ErrorRows,
            ["lost"] = figures.Lost,
            ["duplicated"] = figures.Duplicated + figures.Foreign,
            ["recoverSeconds"] = recoverSeconds is { } r ? Math.Round(r, 1) : null,
            ["recoverMeaning"] = recoverMeaning,
            ["state"] = state,
            ["scenarioSeconds"] = Math.Round(Elapsed.TotalSeconds, 1),
            ["silos"] = Cluster.Silos.Count,
            ["seed"] = ReliabilitySettings.Seed,
            ["shardSize"] = ReliabilitySettings.ShardSize,
            ["killAt"] = ReliabilitySettings.KillAt,
            ["command"] = ReliabilitySettings.Command,
            ["notes"] = notes ?? new Dictionary<string, object?>(),
        };
        var json = JsonSerializer.Serialize(line);
        _output.WriteLine(json);
        var path = ReliabilitySettings.ResultsFile;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.AppendAllText(path, json + "\n");
    }

    /// <summary>Runs the CLI in-process; asserts exit 0.</summary>
    public async Task<(string Stdout, string Stderr)> CliOkAsync(string[] args)
    {
        var (code, stdout, stderr) = await CliAsync(args);
        Assert.True(code == ExitCodes.Success, $"mobilenet {string.Join(' ', args.TakeWhile(a => a != "--storage"))} exited {code}: {stderr}");
        return (stdout, stderr);
    }

    public async Task<(int Code, string Stdout, string Stderr)> CliAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApplication.RunAsync(args, stdout, stderr);
        lock (_cliOutput)
        {
            _cliOutput.Add(stdout.ToString());
            _cliOutput.Add(stderr.ToString());
        }

        _output.WriteLine($"[{Elapsed.TotalSeconds,6:F1} s] $ mobilenet {string.Join(' ', args.TakeWhile(a => a != "--storage"))} -> {code}");
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Completions of shards per (job, shard) seen in the silos' logs: how often each shard was labeled to the end.</summary>
    public IReadOnlyList<(DateTimeOffset At, string Silo, string JobId, int ShardId)> ShardCompletions() =>
        [.. Cluster.Silos.SelectMany(s => s.Lines.Select(l => (l.At, s.Name, Match: ShardCompletedLine().Match(l.Line))))
            .Where(x => x.Match.Success)
            .Select(x => (x.At, x.Name, x.Match.Groups[1].Value, int.Parse(x.Match.Groups[2].Value, CultureInfo.InvariantCulture)))];

    public void Log(string message) => _output.WriteLine($"[{Elapsed.TotalSeconds,6:F1} s] {message}");

    public async ValueTask DisposeAsync()
    {
        await Monitor.DisposeAsync();
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The error code of an error row (<c>code: reason</c>), for the figures.</summary>
    private static string ReasonCode(string error)
    {
        var colon = error.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < 40 ? error[..colon] : error.Length > 40 ? error[..40] : error;
    }

    [GeneratedRegex(@"Job (\S+) shard (\d+): (\d+) labeled, (\d+) errors in", RegexOptions.CultureInvariant)]
    private static partial Regex ShardCompletedLine();

    [GeneratedRegex("AccountKey=([^;]+)", RegexOptions.CultureInvariant)]
    private static partial Regex AccountKeyPattern();
}

/// <summary>What a job's results hold, compared with what was submitted.</summary>
internal sealed record ResultFigures
{
    public int Submitted { get; init; }

    public int Rows { get; init; }

    public int Labeled { get; init; }

    public int ErrorRows { get; init; }

    public int Lost { get; init; }

    public int Duplicated { get; init; }

    /// <summary>Rows whose image was never submitted.</summary>
    public int Foreign { get; init; }

    public IReadOnlyDictionary<string, int> ErrorReasons { get; init; } = new Dictionary<string, int>();

    /// <summary>The result rows themselves.</summary>
    public IReadOnlyList<LabelingRecord> Records { get; init; } = [];

    /// <summary>Each submitted image exactly once: nothing lost, nothing duplicated, nothing foreign.</summary>
    public void AssertExactlyOnce()
    {
        Assert.True(Lost == 0, $"{Lost} submitted images have no row in the results");
        Assert.True(Duplicated == 0, $"{Duplicated} rows repeat an image");
        Assert.True(Foreign == 0, $"{Foreign} rows name images that were never submitted");
        Assert.Equal(Submitted, Rows);
    }

    public override string ToString() =>
        $"{Submitted} submitted, {Rows} rows: {Labeled} labeled, {ErrorRows} error rows ({string.Join(", ", ErrorReasons.Select(r => $"{r.Key} x{r.Value}"))}), lost {Lost}, duplicated {Duplicated}, foreign {Foreign}";
}
