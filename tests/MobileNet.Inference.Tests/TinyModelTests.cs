
namespace MobileNet.Inference.Tests;

public sealed class TinyModelTests : IDisposable
{
    private readonly TempDirectory directory = new();

    [Fact]
    public void Load_TinyModel_InfersDescriptionFromOnnxMetadata()
    {
        var description = ModelDescription.Load(TinyOnnxModel.Write(directory.Path));
        Assert.Equal("input", description.InputName);
        Assert.Equal("output", description.OutputName);
        Assert.Equal((16, 16), (description.Width, description.Height));
        Assert.Equal(TensorLayout.Nchw, description.Layout);
        Assert.Equal(3, description.ClassCount);
        Assert.Null(description.FixedBatchSize);
        Assert.Equal(TinyOnnxModel.Labels, description.Labels);
    }

    [Theory]
    [InlineData(255, 0, 0, "red")]
    [InlineData(0, 200, 0, "green")]
    [InlineData(10, 10, 250, "blue")]
    public void Classify_SolidColour_TopLabelIsThatColour(byte r, byte g, byte b, string expected)
    {
        using var classifier = ImageClassifier.Load(TinyOnnxModel.Write(directory.Path));
        var tensor = new float[classifier.Preprocessor.TensorLength];
        Assert.True(classifier.Preprocessor.TryPreprocess(TestImages.SolidPng(r, g, b), tensor, out var error), error?.ToString());
        var result = classifier.Classify(tensor, 1, 3)[0];
        Assert.Equal(expected, result[0].Label);
        Assert.Equal(1.0, result.Sum(l => (double)l.Score), 4);
    }
    public void Dispose() => directory.Dispose();
}
