namespace MobileNet.Orleans.Deploy.Tests.Manifests;

public sealed class KustomizeSchemaTests
{
    [SkippableTheory]
    [MemberData(nameof(Targets))]
    public async Task Render_EachKustomization_ValidatesAgainstKubernetesSchemas(string target)
    {
        var yaml = await Kustomize.RenderAsync(target);

        var result = await SchemaValidator.ValidateAsync(yaml);

        Assert.True(result.ExitCode == 0, $"{target}: {result}");
        Assert.Contains(" 0 problems", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Lint_AllManifestSources_Clean()
    {
        var result = await SchemaValidator.LintAsync(RepositoryPaths.K8s);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(" 0 files linted", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Validate_ObjectBreakingTheSchema_Fails()
    {
        const string broken = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: broken
            spec:
              replicas: two
              selector:
                matchLabels:
                  app: broken
              template:
                metadata:
                  labels:
                    app: broken
                spec:
                  containers:
                    - name: app
                      image: app:1.0.0
                      resources:
                        requests:
                          memory: lots
            """;

        var result = await SchemaValidator.ValidateAsync(broken);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("spec/replicas must be integer", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("requests/memory", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Validate_UnknownKindAndDuplicateKey_Fail()
    {
        const string broken = """
            apiVersion: example.com/v1
            kind: Widget
            metadata:
              name: w
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: twice
              name: again
            """;

        var result = await SchemaValidator.ValidateAsync(broken);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no schema for example.com/v1 Widget", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Map keys must be unique", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Validate_KedaScaledObjectWithWrongTypes_Fails()
    {
        const string broken = """
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata:
              name: s
            spec:
              scaleTargetRef:
                name: mobilenet-silo
              triggers:
                - type: prometheus
                  metadata:
                    threshold: 2000
            """;

        var result = await SchemaValidator.ValidateAsync(broken);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("triggers/0/metadata/threshold must be string", result.StandardOutput, StringComparison.Ordinal);
    }

    public static TheoryData<string> Targets => Kustomize.Targets;
}
