
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

    [Theory]
    [InlineData("absolute", "is an absolute path")]
    [InlineData("parent", "leaves the model's folder")]
    [InlineData("nested-parent", "leaves the model's folder")]
    [InlineData("link", "link to a file outside")]
    public void Load_SidecarLabelsOutsideModelFolder_RefusedWithoutReadingIt(string how, string reason)
    {
        // A one-line file outside the model's folder: were it read, its line would name every class.
        var outside = new TempDirectory();
        var secret = Path.Combine(outside.Path, "secret.txt");
        File.WriteAllText(secret, "SECRET-LINE-7f3a\n");
        var modelFolder = Path.Combine(directory.Path, "model");
        var model = TinyOnnxModel.Write(modelFolder, writeLabels: false);
        var named = how switch
        {
            "absolute" => secret,
            "parent" => Path.GetRelativePath(modelFolder, secret),
            "nested-parent" => "sub/../../" + Path.GetRelativePath(directory.Path, secret),
            _ => "labels.txt",
        };
        if (how == "link")
        {
            File.CreateSymbolicLink(Path.Combine(modelFolder, "labels.txt"), secret);
        }

        File.WriteAllText(ModelDescription.SidecarPathFor(model), System.Text.Json.JsonSerializer.Serialize(new { labels = named }));
        try
        {
            var ex = Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(model));
            Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("SECRET-LINE", ex.Message, StringComparison.Ordinal);
            // Also when the caller names the labels itself: the description is refused, not ignored.
            File.WriteAllText(Path.Combine(modelFolder, "own.txt"), "a\nb\nc\n");
            Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(model, Path.Combine(modelFolder, "own.txt")));
        }
        finally
        {
            outside.Dispose();
        }
    }

    [Fact]
    public void Load_SidecarLabelsInSubfolder_Accepted()
    {
        var model = TinyOnnxModel.Write(directory.Path, writeLabels: false);
        Directory.CreateDirectory(directory.File("meta"));
        File.WriteAllText(directory.File("meta/classes.txt"), "r\ng\nb\n");
        File.WriteAllText(ModelDescription.SidecarPathFor(model), """{ "labels": "meta/classes.txt" }""");

        Assert.Equal(["r", "g", "b"], ModelDescription.Load(model).Labels);
    }

    [Fact]
    public void Load_SidecarLargerThanLimit_ClearError()
    {
        var model = TinyOnnxModel.Write(directory.Path);
        File.WriteAllText(ModelDescription.SidecarPathFor(model), "{ \"input\": \"input\" }" + new string(' ', ModelDescription.MaxSidecarBytes));

        var ex = Assert.Throws<ModelDescriptionException>(() => ModelDescription.Load(model));

        Assert.Contains("larger than 64 KiB", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SidecarInputSideOverLimit_ClearError()
    {
        // (A model with a dynamic input size takes its size from the description.)
        var description = new ModelDescription { InputName = "input", OutputName = "output", OutputLength = 10, Width = 4097, Height = 224 };

        var ex = Assert.Throws<ModelDescriptionException>(description.Validate);

        Assert.Contains("width/height must be 1..4096", ex.Message, StringComparison.Ordinal);
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
