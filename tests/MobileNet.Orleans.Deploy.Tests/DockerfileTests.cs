using System.Text.RegularExpressions;

namespace MobileNet.Orleans.Deploy.Tests;

public sealed partial class DockerfileTests
{
    [Theory]
    [InlineData("silo.Dockerfile", "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", "mobilenet-silo.dll")]
    [InlineData("client.Dockerfile", "mcr.microsoft.com/dotnet/runtime:10.0-noble-chiseled", "mobilenet.dll")]
    public void Dockerfile_Image_MultiStageGlibcNonRootCrossPublished(string file, string runtimeBase, string entryAssembly)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryPaths.Docker, file));

        // Two stages: the SDK builds on the build machine's platform, the runtime stage is the small base.
        Assert.Contains("FROM --platform=$BUILDPLATFORM ${DOTNET_SDK_IMAGE} AS build", text, StringComparison.Ordinal);
        Assert.Contains($"ARG DOTNET_RUNTIME_IMAGE={runtimeBase}", text, StringComparison.Ordinal);
        // TARGETARCH picks the runtime identifier; both architectures are handled.
        Assert.Contains("amd64) echo linux-x64", text, StringComparison.Ordinal);
        Assert.Contains("arm64) echo linux-arm64", text, StringComparison.Ordinal);
        Assert.Matches(PublishWithRid(), text);
        // Runs as a numeric non-root user, so runAsNonRoot can verify it.
        var user = Assert.Single(UserLine().Matches(text)).Groups[1].Value;
        Assert.NotEqual("0", user);
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{entryAssembly}\"]", text, StringComparison.Ordinal);
        // Every base image is pinned (no bare name, no latest) and glibc-based: ONNX Runtime ships no musl natives.
        var images = ImageArg().Matches(text);
        Assert.Equal(2, images.Count);
        foreach (Match image in images)
        {
            Assert.DoesNotContain("alpine", image.Groups[1].Value, StringComparison.OrdinalIgnoreCase);
            Assert.Matches(@":\d+\.\d+", image.Groups[1].Value);
            Assert.DoesNotContain(":latest", image.Groups[1].Value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void DockerIgnore_KeepsModelsAndBuildOutputsOutOfTheContext()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, ".dockerignore")).Select(l => l.Trim()).ToHashSet();

        Assert.Contains("**/*.onnx", lines);
        Assert.Contains("**/bin/", lines);
        Assert.Contains("**/obj/", lines);
        Assert.Contains(".run/", lines);
        Assert.Contains("shared/", lines);
    }

    [GeneratedRegex(@"dotnet publish \S+ -c Release -r ""\$\(cat /tmp/rid\)""")]
    private static partial Regex PublishWithRid();

    [GeneratedRegex(@"^USER (\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex UserLine();

    [GeneratedRegex(@"^ARG DOTNET_\w+_IMAGE=(\S+)$", RegexOptions.Multiline)]
    private static partial Regex ImageArg();
}
