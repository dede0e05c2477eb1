using MobileNet.Inference.Architectures;
using MobileNet.Inference.Onnx;

namespace MobileNet.Inference.Tests.Onnx;

public sealed class OnnxCodecTests
{
    [Fact]
    public void Read_WrittenModel_RoundTripsEveryModelledField()
    {
        var original = TestModels.SmallConvNet(withSubgraph: true);

        var bytes = OnnxModelWriter.ToBytes(original);
        var read = OnnxModelReader.Read(bytes);

        Assert.Equal(8, read.IrVersion);
        Assert.Equal(("tests", "1", "org.test", 3L, "doc"), (read.ProducerName, read.ProducerVersion, read.Domain, read.ModelVersion, read.DocString));
        Assert.Equal([new OnnxOperatorSet("", 13), new OnnxOperatorSet("test.domain", 1)], read.OpsetImports);
        Assert.Equal([new KeyValuePair<string, string>("key", "value")], read.MetadataProps);
        Assert.Equal(("small", "a test graph"), (read.Graph.Name, read.Graph.DocString));

        var input = Assert.Single(read.Graph.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal(OnnxDataType.Float, input.TensorType!.ElementType);
        Assert.Equal(["N", "3", "8", "8"], input.TensorType.Shape!.Select(d => d.ToString()));
        Assert.Equal("N", input.TensorType.Shape![0].Param);

        var w = read.Graph.Initializers.Single(t => t.Name == "w");
        Assert.Equal([4L, 3, 3, 3], w.Dims);
        Assert.True(w.HasRawData);
        Assert.Equal(original.Graph.Initializers[0].RawData.ToArray(), w.RawData.ToArray());
        Assert.Equal([0.1f, -0.2f, 0.3f, -0.4f], read.Graph.Initializers.Single(t => t.Name == "b").FloatData);
        Assert.Equal([1.0, 2, 3, 4, 5], read.Graph.Initializers.Single(t => t.Name == "fc_bias").DoubleData);
        Assert.Equal([-1L], read.Graph.Initializers.Single(t => t.Name == "minus_one").Int64Data);
        var zero = read.Graph.Initializers.Single(t => t.Name == "zero");
        Assert.Empty(zero.Dims);
        Assert.Equal([0L], zero.TryGetIntegers()!);

        var conv = read.Graph.Nodes[0];
        Assert.Equal(("Conv", "conv"), (conv.OpType, conv.Name));
        Assert.Equal(["x", "w", "b"], conv.Inputs);
        Assert.Equal([1L, 1, 1, 1], conv.GetInts("pads")!);
        Assert.Equal(-1.5f, conv.GetFloat("alpha_unused", 0));
        Assert.Equal("NOTSET", conv.GetString("auto_pad", ""));

        var ifNode = read.Graph.Nodes.Single(n => n.OpType == "If");
        Assert.Equal("test.domain", ifNode.Domain);
        Assert.Equal("Identity", ifNode.Attribute("then_branch")!.G!.Nodes.Single().OpType);
        Assert.Equal([3L, -4], ifNode.Attribute("tensor")!.T!.TryGetIntegers()!);
        Assert.Equal(["a", "ünïcode"], ifNode.Attribute("names")!.Strings.Select(s => System.Text.Encoding.UTF8.GetString(s.Span)));
        Assert.Equal([0.5f, float.MaxValue], ifNode.Attribute("scales")!.Floats);

        // Writing what was read gives the same bytes: nothing modelled is lost or reordered.
        Assert.Equal(bytes, OnnxModelWriter.ToBytes(read));
    }

    [Fact]
    public void Read_BuiltMobileNet_RoundTripsByteForByte()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV2, 0.35, 96, 10));
        var bytes = OnnxModelWriter.ToBytes(model);

        var again = OnnxModelWriter.ToBytes(OnnxModelReader.Read(bytes));

        Assert.Equal(bytes, again);
    }

    [Fact]
    public void Read_UnknownFieldsOfEveryWireType_AreSkipped()
    {
        var bytes = OnnxModelWriter.ToBytes(TestModels.SmallConvNet()).ToList();
        // Field 99 varint, field 100 fixed64, field 101 length-delimited, field 102 fixed32: none is in ModelProto.
        bytes.AddRange([0x98, 0x06, 0xAC, 0x02]);
        bytes.AddRange([0xA1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
        bytes.AddRange([0xAA, 0x06, 3, 0xFF, 0xFE, 0xFD]);
        bytes.AddRange([0xB5, 0x06, 9, 9, 9, 9]);

        var model = OnnxModelReader.Read(bytes.ToArray());

        Assert.Equal(8, model.IrVersion);
        Assert.Equal(11, model.Graph.Nodes.Count);
    }

    [Fact]
    public void Read_EveryTruncation_FailsCleanlyOrReadsAPrefix()
    {
        var bytes = OnnxModelWriter.ToBytes(TestModels.SmallConvNet(withSubgraph: true));
        var failures = 0;
        for (var length = 0; length < bytes.Length; length++)
        {
            try
            {
                OnnxModelReader.Read(bytes.AsMemory(0, length));
            }
            catch (OnnxFormatException ex)
            {
                Assert.StartsWith("invalid ONNX file", ex.Message, StringComparison.Ordinal);
                failures++;
            }
        }

        // Cutting inside the graph (almost everywhere) must fail; only cuts after the graph can still parse.
        Assert.True(failures > bytes.Length * 9 / 10, $"{failures} of {bytes.Length} truncations failed");
    }

    [Fact]
    public void Read_TruncatedInsideWeights_SaysHowManyBytesAreMissing()
    {
        var bytes = OnnxModelWriter.ToBytes(MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, 0.25, 32, 2)));

        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(bytes.AsMemory(0, bytes.Length / 2)));

        Assert.Contains("remain", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HugeDeclaredLength_FailsWithoutAllocating()
    {
        // Field 7 (graph), length-delimited, declaring 2^62 bytes.
        byte[] bytes = [0x08, 0x08, 0x3A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];

        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(bytes));

        Assert.Contains("declares", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 0x08, 0x08 }, "no graph")]
    [InlineData(new byte[] { 0x3A, 0x00 }, "ir_version")]
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "varint")]
    [InlineData(new byte[] { 0x7B, 0x7C }, "group")]
    [InlineData(new byte[] { 0x0E }, "wire type")]
    [InlineData(new byte[] { 0x00, 0x01 }, "field number 0")]
    [InlineData(new byte[] { 0x0A, 0x01, 0x41 }, "wire type 2, expected 0")]
    [InlineData(new byte[] { 0x3A, 0x04, 0x0A, 0x02, 0x0A, 0x09 }, "declares")]
    public void Read_MalformedBytes_ThrowsClearError(byte[] bytes, string expected)
    {
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(bytes));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_RandomBytes_OnlyEverThrowsFormatErrors()
    {
        var random = new Random(1234);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(1, 512)];
            random.NextBytes(bytes);

            var ex = Record.Exception(() => OnnxModelReader.Read(bytes));

            Assert.True(ex is null or OnnxFormatException, $"iteration {i}: {ex}");
        }
    }

    [Fact]
    public void Read_DeeplyNestedSubgraphs_StopsAtDepthLimit()
    {
        // graph { node { attribute { g { node { attribute { g { ... } } } } } } }, built inside out.
        var graph = Array.Empty<byte>();
        for (var i = 0; i < OnnxModelReader.MaxGraphDepth + 5; i++)
        {
            var attribute = Concat([0x32], Length(graph.Length), graph);
            var node = Concat([0x2A], Length(attribute.Length), attribute);
            graph = Concat([0x0A], Length(node.Length), node);
        }

        var model = Concat([0x08, 0x08, 0x3A], Length(graph.Length), graph);

        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(model));
        Assert.Contains("nested", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => OnnxModelReader.ReadFile(Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.onnx")));
    }

    [Fact]
    public void WriteFile_ThenReadFile_GivesSameModel()
    {
        var path = Path.Combine(Path.GetTempPath(), $"codec-{Guid.NewGuid():N}", "model.onnx");
        try
        {
            var bytes = OnnxModelWriter.ToBytes(TestModels.SmallConvNet());
            OnnxModelWriter.WriteFile(TestModels.SmallConvNet(), path);

            Assert.Equal(bytes, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    private static byte[] Length(int value)
    {
        var bytes = new List<byte>();
        var v = (uint)value;
        while (v >= 0x80)
        {
            bytes.Add((byte)(v | 0x80));
            v >>= 7;
        }

        bytes.Add((byte)v);
        return [.. bytes];
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
