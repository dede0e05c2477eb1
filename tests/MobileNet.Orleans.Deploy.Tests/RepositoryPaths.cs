namespace MobileNet.Orleans.Deploy.Tests;

/// <summary>Paths inside the repository, found from the test assembly's location.</summary>
internal static class RepositoryPaths
{
    public static string Root => RepositoryLayout.Root;

    public static string K8s => Path.Combine(Root, "deploy", "k8s");

    public static string Validator => Path.Combine(K8s, "validate");

    public static string Docker => Path.Combine(Root, "deploy", "docker");
}
