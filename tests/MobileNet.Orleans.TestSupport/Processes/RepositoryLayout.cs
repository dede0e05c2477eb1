namespace MobileNet.Orleans.Testing.Processes;

/// <summary>Where the repository and the programs the tests start (built by the test projects) are.</summary>
public static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    /// <summary>The silo built in the tests' configuration (test projects build it beside themselves).</summary>
    public static string SiloDll => BuiltDll(Path.Combine("src", "Silo"), "mobilenet-silo.dll");

    /// <summary>The CLI built in the tests' configuration, for tests that run it as a real process.</summary>
    public static string CliDll => BuiltDll(Path.Combine("src", "Client"), "mobilenet.dll");

    /// <summary>The Azurite that scripts/test.sh installs under .run/tools.</summary>
    public static string AzuriteExecutable => Path.Combine(Root, ".run", "tools", "node_modules", ".bin", "azurite");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MobileNet.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"the repository root (MobileNet.Orleans.sln) was not found above {AppContext.BaseDirectory}");
    }

    private static string BuiltDll(string project, string dll)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        return Path.Combine(Root, project, "bin", configuration, "net10.0", "linux-x64", dll);
    }
}
