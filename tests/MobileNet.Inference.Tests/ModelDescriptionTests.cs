using MobileNet.Inference.Tests.TestSupport;

namespace MobileNet.Inference.Tests;

public sealed class ModelDescriptionTests : IDisposable
{
    private readonly TempDirectory directory = new();

    [Fact]
    public void Load_Sidecar_OverridesInferredValues()
    {
        var model = TinyOnnxModel.Write(directory.Path);
        File.WriteAllText(directory.File("colours.txt"), "r\ng\nb\n");
        File.WriteAllText(ModelDescription.SidecarPathFor(model), """
            { "channelOrder": "bgr", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "resize": "stretch",
              "outputs": "probabilities", "labels": "colours.txt" }
            """);
        var d = ModelDescription.Load(model);
        Assert.Equal(ChannelOrder.Bgr, d.ChannelOrder);
        Assert.Equal([0.5f, 0.5f, 0.5f], d.Mean);
        Assert.Equal(ResizePolicy.Stretch, d.Resize);
        Assert.Equal(ModelOutputKind.Probabilities, d.Outputs);
        Assert.Equal(["r", "g", "b"], d.Labels);
        Assert.Equal(model + ".json", d.SidecarPath);
    }

    [Fact]
    public void Load_SidecarWithInputNameAlias_Accepted()
    {
        var model = TinyOnnxModel.Write(directory.Path);
        File.WriteAllText(ModelDescription.SidecarPathFor(model), """{ "inputName": "input", "outputName": "output" }""");
        Assert.Equal("input", ModelDescription.Load(model).InputName);
    }

    [Theory]
    [InlineData("""{ "layout": "sideways" }""", "layout")]
    [InlineData("""{ "withd": 16 }""", "withd")]
    [InlineData("""{ "width": 32 }""", "contradict")]
    [InlineData("""{ "std": [0, 1, 1] }""", "std")]
    [InlineData("""{ "mean": [0.5] }""", "mean")]
    [InlineData("""{ "input": "image" }""", "no input named 'image'")]
    [InlineData("""{ "labelOffset": 3 }""", "labelOffset")]
    [InlineData("""{ "labels": "missing.txt" }""", "missing.txt")]
    [InlineData("not json", "invalid model sidecar")]
    public void Load_BadSidecar_ClearError(string json, string mentions)
    {
        var model = TinyOnnxModel.Write(directory.Path);
        File.WriteAllText(ModelDescription.SidecarPathFor(model), json);
        var ex = Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(model));
        Assert.Contains(mentions, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LabelsCountMismatch_ClearError()
    {
        var model = TinyOnnxModel.Write(directory.Path);
        File.WriteAllText(directory.File("labels.txt"), "a\nb\n");
        var ex = Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(model));
        Assert.Contains("2 lines but the model has 3 classes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NotAModel_ClearError()
    {
        File.WriteAllText(directory.File("fake.onnx"), "hello");
        var ex = Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(directory.File("fake.onnx")));
        Assert.Contains("not a loadable ONNX model", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(directory.File("absent.onnx")));
    }

    [Fact]
    public void Load_NhwcModel_InfersLayoutAndTensorFlowNormalisation()
    {
        var d = ModelDescription.Load(TinyOnnxModel.Write(directory.Path, nhwc: true));
        Assert.Equal(TensorLayout.Nhwc, d.Layout);
        Assert.Equal([0.5f, 0.5f, 0.5f], d.Std);
    }

    [Fact]
    public void ImageClassifierLoad_NoLabelsFile_ErrorUnlessAllowed()
    {
        var model = TinyOnnxModel.Write(directory.Path, writeLabels: false);
        var ex = Assert.Throws<ModelDescriptionException>(() => ImageClassifier.Load(model));
        Assert.Contains("no labels file", ex.Message, StringComparison.Ordinal);
        using var classifier = ImageClassifier.Load(model, new ClassifierOptions { AllowMissingLabels = true });
        Assert.Equal(["0", "1", "2"], classifier.Labels);
    }

    [Fact]
    public void ImageClassifierLoad_SameModelTwice_SharesOneSession()
    {
        var model = TinyOnnxModel.Write(directory.Path);
        object first;
        using (var a = ImageClassifier.Load(model))
        using (var b = ImageClassifier.Load(model))
        using (var other = ImageClassifier.Load(model, new ClassifierOptions { UseDefaultRuntimeOptions = true }))
        {
            Assert.Same(a.Session, b.Session);
            Assert.NotSame(a.Session, other.Session);
            first = a.Session;
        }

        // Released with the last user: a later load builds a fresh session.
        using var again = ImageClassifier.Load(model);
        Assert.NotSame(first, again.Session);
    }

    public void Dispose() => directory.Dispose();
}
