using System.Text.Json;
using MobileNet.Inference;
using MobileNet.Orleans.Client.Results;
using MobileNet.Orleans.Client.Results.Formats;
using MobileNet.Orleans.Contracts.Labels;

namespace MobileNet.Orleans.Client.Tests.Results;

public sealed class ResultFormatsTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>Labeled rows with three labels, an error row (no labels), names with spaces, quotes and non-ASCII.</summary>
    private static List<LabelingRecord> SampleRecords(int count) => Enumerable.Range(0, count).Select(i => i % 4 == 3
        ? new LabelingRecord($"photos/bad \"{i:D3}\".jpg", [], "not-an-image: no JPEG/PNG/WebP signature") { Model = Sha }
        : new LabelingRecord($"photos/é-{i:D3}.jpg", [new LabelScore(281, "tabby", 0.5f + (i / 1000f)), new LabelScore(282, "tiger cat", 0.25f), new LabelScore(285, "Egyptian cat", 0.0625f)], null) { Model = Sha }).ToList();

    private static async IAsyncEnumerable<(LabelingRecord, string)> AsRows(IEnumerable<LabelingRecord> records, string job)
    {
        foreach (var record in records)
        {
            await Task.Yield();
            yield return (record, job);
        }
    }

    [Fact]
    public async Task ParquetSink_ManyRowGroups_LowLevelReaderSeesTheJsonlRows()
    {
        using var temp = new TempDirectory();
        var records = SampleRecords(23);
        var path = Path.Combine(temp.Path, "results.parquet");
        await using (var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
        {
            var sink = new ParquetResultSink(stream) { RowGroupSize = 5 };
            foreach (var record in records)
            {
                await sink.WriteAsync(record, "job-20261201-000000-abcdef", CancellationToken.None);
            }

            await sink.CompleteAsync(CancellationToken.None);
        }

        var (rows, groups, columns) = await ParquetLowLevelReader.ReadAsync(path);
        Assert.Equal(5, groups); // 23 rows in row groups of 5: streamed, not gathered
        Assert.Contains("image", columns);
        // Compared through the JSONL format: what `results --format jsonl` would print for the same rows.
        Assert.Equal(records.Select(LabelingRecordFormat.ToJsonLine), rows.Select(r => LabelingRecordFormat.ToJsonLine(r.Record)));
        Assert.All(rows, r => Assert.Equal("job-20261201-000000-abcdef", r.JobId));
    }

    [Fact]
    public async Task ParquetOutput_NoRows_WritesAValidEmptyFile()
    {
        using var temp = new TempDirectory();
        var path = new FileInfo(Path.Combine(temp.Path, "empty.parquet"));
        var counts = await ResultOutput.WriteAsync(AsRows([], "job-20261201-000000-abcdef"), new ResultOutputSettings { Format = ResultFormat.Parquet, Target = path, TopK = 5 }, TextWriter.Null, CancellationToken.None);
        Assert.Equal(0, counts.Written);
        Assert.Empty((await ParquetLowLevelReader.ReadAsync(path.FullName)).Rows);
    }

    [Fact]
    public async Task LabelStudioOutput_Review_TasksCarryTheImportFormatsRequiredFieldsByAscendingScore()
    {
        var records = SampleRecords(12);
        using var stdout = new StringWriter();
        var settings = new ResultOutputSettings
        {
            Format = ResultFormat.LabelStudio,
            TopK = 3,
            ReviewOnly = true,
            Review = new ReviewRule(0.505f, null),
            ImageUrl = name => "https://account.example/photos/" + Uri.EscapeDataString(name),
            ModelVersion = BlobLabelTags.ModelVersion("mobilenet", Sha),
        };
        var counts = await ResultOutput.WriteAsync(AsRows(records, "job-20261201-000000-abcdef"), settings, stdout, CancellationToken.None);

        using var json = JsonDocument.Parse(stdout.ToString());
        var tasks = json.RootElement.EnumerateArray().ToList();
        var expected = records.Where(r => r.Succeeded && r.Labels[0].Score < 0.505f).OrderBy(r => r.Labels[0].Score).ToList();
        Assert.Equal(expected.Count, counts.Written);
        Assert.Equal(12, counts.Labeled + counts.Errors);
        Assert.Equal(expected.Count, tasks.Count);
        for (var i = 0; i < tasks.Count; i++)
        {
            LabelStudioTaskFormat.Validate(tasks[i], "choice", "image");
            Assert.Equal(settings.ImageUrl(expected[i].Image), tasks[i].GetProperty("data").GetProperty("image").GetString());
            var prediction = tasks[i].GetProperty("predictions")[0];
            Assert.Equal("mobilenet:01234567", prediction.GetProperty("model_version").GetString());
            Assert.Equal(expected[i].Labels[0].Score, prediction.GetProperty("score").GetSingle());
            Assert.Equal("tabby", prediction.GetProperty("result")[0].GetProperty("value").GetProperty("choices")[0].GetString());
        }
    }

    [Fact]
    public async Task LabelStudioOutput_ErrorRow_TaskWithoutPrediction()
    {
        using var stdout = new StringWriter();
        var settings = new ResultOutputSettings { Format = ResultFormat.LabelStudio, TopK = 3 };
        await ResultOutput.WriteAsync(AsRows(SampleRecords(4).Skip(3), "job-20261201-000000-abcdef"), settings, stdout, CancellationToken.None);
        using var json = JsonDocument.Parse(stdout.ToString());
        var task = json.RootElement[0];
        LabelStudioTaskFormat.Validate(task, "choice", "image");
        Assert.Equal(0, task.GetProperty("predictions").GetArrayLength());
        Assert.StartsWith("not-an-image", task.GetProperty("meta").GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveFormat_ParquetWithoutFile_IsAUsageErrorAndUnknownNamesTheChoices()
    {
        Assert.Equal(ResultFormat.Parquet, ResultFormats.Resolve(null, new FileInfo("x.parquet")));
        Assert.Equal(ResultFormat.LabelStudio, ResultFormats.Resolve("labelstudio", null));
        var ex = Assert.Throws<CliUsageException>(() => ResultFormats.Resolve("xml", null));
        Assert.Contains("parquet", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>
/// The task format Label Studio's import documentation describes for pre-annotated image classification: a task has
/// a <c>data</c> object naming the image; each entry of <c>predictions</c> has <c>model_version</c>, a numeric
/// <c>score</c> and a <c>result</c> list whose items have <c>from_name</c>/<c>to_name</c> matching the labeling
/// config, <c>type</c> "choices" and <c>value.choices</c> (a list of strings).
/// </summary>
internal static class LabelStudioTaskFormat
{
    public static void Validate(JsonElement task, string fromName, string toName)
    {
        Assert.Equal(JsonValueKind.Object, task.ValueKind);
        var data = task.GetProperty("data");
        Assert.Equal(JsonValueKind.Object, data.ValueKind);
        Assert.False(string.IsNullOrEmpty(data.GetProperty(toName).GetString()));
        Assert.Equal(JsonValueKind.Array, task.GetProperty("predictions").ValueKind);
        foreach (var prediction in task.GetProperty("predictions").EnumerateArray())
        {
            Assert.False(string.IsNullOrEmpty(prediction.GetProperty("model_version").GetString()));
            Assert.Equal(JsonValueKind.Number, prediction.GetProperty("score").ValueKind);
            var results = prediction.GetProperty("result");
            Assert.True(results.GetArrayLength() > 0);
            foreach (var result in results.EnumerateArray())
            {
                Assert.Equal(fromName, result.GetProperty("from_name").GetString());
                Assert.Equal(toName, result.GetProperty("to_name").GetString());
                Assert.Equal("choices", result.GetProperty("type").GetString());
                var choices = result.GetProperty("value").GetProperty("choices");
                Assert.True(choices.GetArrayLength() > 0);
                Assert.All(choices.EnumerateArray(), c => Assert.Equal(JsonValueKind.String, c.ValueKind));
            }
        }
    }
}
