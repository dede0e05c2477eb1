namespace MobileNet.Orleans.Deploy.Tests;

/// <summary>Paths inside the repository, found from the test assembly's location.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string K8s => Path.Combine(Root, "deploy", "k8s");

    public static string Validator => Path.Combine(K8s, "validate");

    public static string Docker => Path.Combine(Root, "deploy", "docker");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MobileNet.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"MobileNet.Orleans.sln not found above {AppContext.BaseDirectory}");
    }
}
