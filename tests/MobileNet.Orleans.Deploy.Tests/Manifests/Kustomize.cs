using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace MobileNet.Orleans.Deploy.Tests.Manifests;

/// <summary>Renders the kustomizations under deploy/k8s with <c>kubectl kustomize</c> (offline).</summary>
internal static class Kustomize
{
    /// <summary>Every kustomization a user applies: the overlays and the in-cluster client Job.</summary>
    public static TheoryData<string> Targets => new() { "overlays/local", "overlays/azure", "overlays/keda", "jobs" };

    private static readonly ConcurrentDictionary<string, Task<string>> Rendered = new();

    /// <summary>The YAML of <paramref name="target"/> (relative to deploy/k8s); skips when kubectl is absent.</summary>
    public static Task<string> RenderAsync(string target)
    {
        var kubectl = ExternalTool.Require("kubectl", "rendering the kustomize overlays");
        return Rendered.GetOrAdd(target, async t =>
        {
            var result = await ExternalTool.RunAsync(kubectl, ["kustomize", Path.Combine(RepositoryPaths.K8s, t)]);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"kubectl kustomize {t} failed: {result}");
            }

            return result.StandardOutput;
        });
    }

    public static async Task<List<JsonObject>> RenderObjectsAsync(string target) =>
        YamlObjects.Parse(await RenderAsync(target));
}
