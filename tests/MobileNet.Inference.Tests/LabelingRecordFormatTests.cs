namespace MobileNet.Inference.Tests;

public sealed class LabelingRecordFormatTests
{
    private static readonly LabelingRecord Labeled = new(
        "photos/canoe.jpg",
        [new LabelScore(472, "canoe", 0.81f), new LabelScore(693, "paddle, boat paddle", 0.125f)],
        null);

    [Fact]
    public void ToJsonLine_LabeledRecord_WritesExactFormat()
    {
        Assert.Equal(
            """{"image":"photos/canoe.jpg","labels":[{"index":472,"label":"canoe","score":0.81},{"index":693,"label":"paddle, boat paddle","score":0.125}],"error":null}""",
            LabelingRecordFormat.ToJsonLine(Labeled));
    }

    [Fact]
    public void ToJsonLine_FailedRecord_WritesEmptyLabelsAndCodedError()
    {
        var record = LabelingRecord.Failed("a\"b.jpg", new ImageError(ImageErrorCodes.CorruptImage, "truncated"));
        Assert.Equal("""{"image":"a\"b.jpg","labels":[],"error":"corrupt-image: truncated"}""", LabelingRecordFormat.ToJsonLine(record));
    }

    [Theory]
    [InlineData("plain.jpg")]
    [InlineData("dir/with \"quotes\", commas\nand newline é.png")]
    public void ParseJsonLine_WhatToJsonLineWrote_RoundTrips(string image)
    {
        var records = new[]
        {
            Labeled with { Image = image },
            new LabelingRecord(image, [new LabelScore(1, "x", 1e-7f), new LabelScore(0, "y", 0.333333343f)], null),
            LabelingRecord.Failed(image, new ImageError(ImageErrorCodes.TooLarge, "100000x100000 pixels")),
        };
        foreach (var record in records)
        {
            var line = LabelingRecordFormat.ToJsonLine(record);
            Assert.DoesNotContain('\n', line);
            Assert.Equal(record, LabelingRecordFormat.ParseJsonLine(line));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("[1,2]")]
    [InlineData("""{"labels":[],"error":null}""")]
    [InlineData("""{"image":"a","labels":[{"index":"x"}],"error":null}""")]
    public void ParseJsonLine_NotARecord_ThrowsFormatException(string line)
    {
        Assert.Throws<FormatException>(() => LabelingRecordFormat.ParseJsonLine(line));
    }

    [Fact]
    public void CsvHeader_TopTwo_ListsTriplesThenErrorThenModel()
    {
        Assert.Equal("image,index_1,label_1,score_1,index_2,label_2,score_2,error,model_sha256", LabelingRecordFormat.CsvHeader(2));
    }

    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1+2", "'+1+2")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("plain", "plain")]
    [InlineData("a=b", "a=b")]
    public void ToCsvRow_CellStartingLikeAFormula_NeutralisedWithQuote(string text, string cell)
    {
        var record = new LabelingRecord("a.jpg", [new LabelScore(1, text, 0.5f)], null);
        var failed = LabelingRecord.Failed(text, new ImageError("x", "y"));

        var row = LabelingRecordFormat.ToCsvRow(record, 1);

        Assert.Contains(",1," + cell + ",0.5,", row, StringComparison.Ordinal);
        Assert.StartsWith(cell + ",", LabelingRecordFormat.ToCsvRow(failed, 1), StringComparison.Ordinal);
    }

    [Fact]
    public void Records_WithModel_JsonCarriesItAndCsvEndsWithIt()
    {
        var record = Labeled with { Model = new string('a', 64) };

        var line = LabelingRecordFormat.ToJsonLine(record);

        Assert.EndsWith($",\"model\":\"{new string('a', 64)}\"}}", line, StringComparison.Ordinal);
        Assert.Equal(record, LabelingRecordFormat.ParseJsonLine(line));
        Assert.EndsWith("," + new string('a', 64), LabelingRecordFormat.ToCsvRow(record, 1), StringComparison.Ordinal);
    }

    [Fact]
    public void ToCsvRow_FieldsWithCommasQuotesNewlines_QuotesPerRfc4180()
    {
        var record = new LabelingRecord("we\"ird,name\r\n.jpg", [new LabelScore(693, "paddle, boat paddle", 0.5f)], null);
        Assert.Equal("\"we\"\"ird,name\r\n.jpg\",693,\"paddle, boat paddle\",0.5,,,,,", LabelingRecordFormat.ToCsvRow(record, 2));
    }

    [Fact]
    public void ToCsvRow_FailedRecord_EmptyLabelCellsAndError()
    {
        var record = LabelingRecord.Failed("x.jpg", new ImageError(ImageErrorCodes.EmptyFile, "the file is empty, 0 bytes"));
        Assert.Equal("x.jpg,,,,\"empty-file: the file is empty, 0 bytes\",", LabelingRecordFormat.ToCsvRow(record, 1));
    }

    [Fact]
    public void ToCsvRow_ColumnCount_MatchesHeader()
    {
        var header = LabelingRecordFormat.CsvHeader(5).Split(',').Length;
        Assert.Equal(header, LabelingRecordFormat.ToCsvRow(new LabelingRecord("a.jpg", [new LabelScore(1, "b", 0.1f)], null), 5).Split(',').Length);
    }

    [Theory]
    [InlineData(LabelingOutputFormat.Csv, "image,index_1,label_1,score_1,error,model_sha256\nphotos/canoe.jpg,472,canoe,0.81,,\nb.jpg,,,,not-found: gone,\n")]
    [InlineData(LabelingOutputFormat.Jsonl, "{\"image\":\"photos/canoe.jpg\",\"labels\":[{\"index\":472,\"label\":\"canoe\",\"score\":0.81}],\"error\":null}\n{\"image\":\"b.jpg\",\"labels\":[],\"error\":\"not-found: gone\"}\n")]
    public async Task WriteAsync_Records_HeaderThenOneLineEachEndedByNewline(LabelingOutputFormat format, string expected)
    {
        var records = new[] { Labeled with { Labels = [Labeled.Labels[0]] }, LabelingRecord.Failed("b.jpg", new ImageError(ImageErrorCodes.NotFound, "gone")) };
        using var writer = new StringWriter();
        await LabelingRecordFormat.WriteAsync(writer, records.ToAsyncEnumerable(), format, 1, writeHeader: true, CancellationToken.None);
        Assert.Equal(expected, writer.ToString());
    }

    [Fact]
    public void ImageError_ToString_IsCodeColonReason()
    {
        Assert.Equal("not-found: no such file", new ImageError(ImageErrorCodes.NotFound, "no such file").ToString());
    }
}
