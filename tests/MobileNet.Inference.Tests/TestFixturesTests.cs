namespace MobileNet.Inference.Tests;

public sealed class TestFixturesTests
{
    [SkippableFact]
    public void ZooModel_WhenFixturesPresent_Exists()
    {
        Assert.True(File.Exists(TestFixtures.ZooModel), $"expected the zoo model at {TestFixtures.ZooModel}");
    }
}
