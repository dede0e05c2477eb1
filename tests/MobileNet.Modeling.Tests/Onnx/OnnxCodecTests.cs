using System.Security.Cryptography;
using Google.Protobuf;
using MobileNet.Modeling.Architectures;
using MobileNet.Modeling.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNet.Modeling.Tests.Onnx;

/// <summary>ONNX files through <see cref="OnnxModelFile"/> (OnnxSharp's generated types on Google.Protobuf).</summary>
public sealed class OnnxCodecTests
{
    [Fact]
    public void Read_WrittenModel_RoundTripsEveryField()
    {
        var original = TestModels.SmallConvNet(withSubgraph: true);

        var bytes = OnnxModelFile.ToBytes(original);
        var read = OnnxModelFile.Read(bytes);

        Assert.Equal(original, read);
        Assert.Equal(8, read.IrVersion);
        Assert.Equal(("tests", "1", "org.test", 3L, "doc"), (read.ProducerName, read.ProducerVersion, read.Domain, read.ModelVersion, read.DocString));
        Assert.Equal([("", 13L), ("test.domain", 1L)], read.OpsetImport.Select(o => (o.Domain, o.Version)));
        Assert.Equal([("key", "value")], read.MetadataProps.Select(p => (p.Key, p.Value)));
        var input = Assert.Single(read.Graph.Input);
        Assert.Equal((int)DataType.Float, input.Type.TensorType.ElemType);
        Assert.Equal("N", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(8, input.Type.TensorType.Shape.Dim[3].DimValue);

        var w = read.Graph.Initializer.Single(t => t.Name == "w");
        Assert.Equal([4L, 3, 3, 3], w.Dims);
        Assert.Equal(original.Graph.Initializer[0].RawData, w.RawData);
        Assert.Equal([-1L], read.Graph.Initializer.Single(t => t.Name == "minus_one").TryGetIntegers()!);
        var zero = read.Graph.Initializer.Single(t => t.Name == "zero");
        Assert.Empty(zero.Dims);
        Assert.Equal([0L], zero.TryGetIntegers()!);

        var conv = read.Graph.Node[0];
        Assert.Equal([1L, 1, 1, 1], conv.GetInts("pads")!);
        Assert.Equal(-1.5f, conv.GetFloat("alpha_unused", 0));
        Assert.Equal("NOTSET", conv.GetString("auto_pad", ""));
        var ifNode = read.Graph.Node.Single(n => n.OpType == "If");
        Assert.Equal("test.domain.If", ifNode.QualifiedOpType());
        Assert.Equal("Identity", ifNode.Attribute("then_branch")!.G.Node.Single().OpType);
        Assert.Equal([3L, -4], ifNode.Attribute("tensor")!.T.TryGetIntegers()!);
        Assert.Equal(["a", "ünïcode"], ifNode.Attribute("names")!.Strings.Select(s => s.ToStringUtf8()));

        // Writing what was read gives the same bytes.
        Assert.Equal(bytes, OnnxModelFile.ToBytes(read));
    }

    [Theory]
    // SHA-256 of the graph and weights the hand-made codec wrote before the move to OnnxSharp (commit 8669507,
    // `models build` with these options), parsed and re-encoded by Google.Protobuf: the builder's models are
    // unchanged, message for message. The files' bytes differ only in encoding (Google.Protobuf packs repeated
    // integers and leaves empty strings out; both are valid encodings of the same message).
    [InlineData(MobileNetArchitecture.MobileNetV1, 0.25, 128, 10, 7UL, "1FF589F76127DE5795E9255B175A5F8E7B9A0815E45CBF70CC4D7034604E315E")]
    [InlineData(MobileNetArchitecture.MobileNetV2, 0.35, 96, 10, 3UL, "1DE048C5C0FE548646F50F5F8ED0F991269FA2E067E666655EAA8B8829E63C5A")]
    public void Build_SameSpecAsBeforeOnnxSharp_GivesTheSameGraphAndWeights(
        MobileNetArchitecture architecture, double width, int resolution, int classes, ulong seed, string sha256)
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(architecture, width, resolution, classes, Seed: seed));

        Assert.Equal(sha256, Convert.ToHexString(SHA256.HashData(OnnxModelFile.ToBytes(model))));
    }

    [Fact]
    public void Read_BuiltMobileNet_RoundTripsByteForByte()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV3Small, 0.75, 96, 10));
        var bytes = OnnxModelFile.ToBytes(model);

        var read = OnnxModelFile.Read(bytes);

        Assert.Equal(model, read);
        Assert.Equal(bytes, OnnxModelFile.ToBytes(read));
    }

    [Fact]
    public void Read_UnknownFieldsOfEveryWireType_AreSkipped()
    {
        var bytes = OnnxModelFile.ToBytes(TestModels.SmallConvNet()).ToList();
        // Field 99 varint, field 100 fixed64, field 101 length-delimited, field 102 fixed32: none is in ModelProto.
        bytes.AddRange([0x98, 0x06, 0xAC, 0x02]);
        bytes.AddRange([0xA1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
        bytes.AddRange([0xAA, 0x06, 3, 0xFF, 0xFE, 0xFD]);
        bytes.AddRange([0xB5, 0x06, 9, 9, 9, 9]);

        var model = OnnxModelFile.Read(bytes.ToArray());

        Assert.Equal(8, model.IrVersion);
        Assert.Equal(11, model.Graph.Node.Count);
    }

    [Fact]
    public void Read_EveryTruncation_FailsCleanlyOrReadsAPrefix()
    {
        var bytes = OnnxModelFile.ToBytes(TestModels.SmallConvNet(withSubgraph: true));
        var failures = 0;
        for (var length = 0; length < bytes.Length; length++)
        {
            try
            {
                OnnxModelFile.Read(bytes.AsSpan(0, length));
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
    public void Read_TruncatedInsideWeights_SaysItIsTruncated()
    {
        var bytes = OnnxModelFile.ToBytes(MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, 0.25, 32, 2)));

        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelFile.Read(bytes.AsSpan(0, bytes.Length / 2)));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HugeDeclaredLength_FailsWithoutAllocating()
    {
        // Field 7 (graph), length-delimited, declaring 2^62 bytes (whose low 32 bits, all protobuf reads, are 0),
        // then 2^31 - 1 bytes.
        byte[] zeroLow = [0x08, 0x08, 0x3A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        byte[] huge = [0x08, 0x08, 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x0A];

        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelFile.Read(zeroLow));
        var hugeEx = Assert.Throws<OnnxFormatException>(() => OnnxModelFile.Read(huge));

        Assert.Contains("no outputs", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", hugeEx.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 0x08, 0x08 }, "no graph")]
    [InlineData(new byte[] { 0x3A, 0x00 }, "ir_version")]
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "invalid ONNX file")]
    [InlineData(new byte[] { 0x7B, 0x7C }, "invalid ONNX file")]
    [InlineData(new byte[] { 0x0E }, "invalid ONNX file")]
    [InlineData(new byte[] { 0x00, 0x01 }, "invalid ONNX file")]
    [InlineData(new byte[] { 0x3A, 0x04, 0x0A, 0x02, 0x0A, 0x09 }, "truncated")]
    public void Read_MalformedBytes_ThrowsClearError(byte[] bytes, string expected)
    {
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelFile.Read(bytes));

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

            var ex = Record.Exception(() => OnnxModelFile.Read(bytes));

            Assert.True(ex is null or OnnxFormatException, $"iteration {i}: {ex}");
        }
    }

    [Fact]
    public void Read_DeeplyNestedSubgraphs_StopsAtNestingLimit()
    {
        // graph { node { attribute { g { node { attribute { g { ... } } } } } } }, built inside out.
        var graph = Array.Empty<byte>();
        for (var i = 0; i < (OnnxModelFile.MaxNesting / 3) + 5; i++)
        {
            var attribute = Concat([0x32], Length(graph.Length), graph);
            var node = Concat([0x2A], Length(attribute.Length), attribute);
            graph = Concat([0x0A], Length(node.Length), node);
        }

        var model = Concat([0x08, 0x08, 0x3A], Length(graph.Length), graph);

        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModelFile.Read(model));
        Assert.Contains("nested", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => OnnxModelFile.ReadFile(Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.onnx")));
    }

    [Fact]
    public void ToBytes_ShapeOnlyModel_Throws()
    {
        var model = MobileNetBuilder.Build(new MobileNetSpec(MobileNetArchitecture.MobileNetV1, 0.25, 32, 2), includeWeights: false);

        var ex = Assert.Throws<InvalidOperationException>(() => OnnxModelFile.ToBytes(model));
        Assert.Contains("shape-only", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteFile_ThenReadFile_GivesSameModelAndNoTemporaryFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"codec-{Guid.NewGuid():N}", "model.onnx");
        try
        {
            var bytes = OnnxModelFile.ToBytes(TestModels.SmallConvNet());
            OnnxModelFile.WriteFile(TestModels.SmallConvNet(), path);

            Assert.Equal(bytes, File.ReadAllBytes(path));
            Assert.Equal(TestModels.SmallConvNet(), OnnxModelFile.ReadFile(path));
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
