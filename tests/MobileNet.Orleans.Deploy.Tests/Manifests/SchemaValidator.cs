namespace MobileNet.Orleans.Deploy.Tests.Manifests;

/// <summary>Runs deploy/k8s/validate/validate.mjs (kubernetes-models schemas + YAML lint) under node.</summary>
internal static class SchemaValidator
{
    public static Task<ExternalTool.Result> ValidateAsync(string renderedYaml) => RunAsync(["-"], renderedYaml);

    public static Task<ExternalTool.Result> LintAsync(string directory) => RunAsync(["--lint", directory], null);

    private static Task<ExternalTool.Result> RunAsync(string[] arguments, string? input)
    {
        var node = ExternalTool.Require("node", "schema validation of the rendered manifests");
        var script = Path.Combine(RepositoryPaths.Validator, "validate.mjs");
        Skip.IfNot(
            Directory.Exists(Path.Combine(RepositoryPaths.Validator, "node_modules", "kubernetes-models")),
            $"the validator's npm packages are not installed: run `npm ci --prefix {RepositoryPaths.Validator}` (scripts/test.sh does).");
        return ExternalTool.RunAsync(node, [script, .. arguments], input, RepositoryPaths.Validator);
    }
}
