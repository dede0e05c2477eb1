using System.CommandLine;

namespace MobileNet.Orleans.Client;

/// <summary>Builds the <c>mobilenet</c> command tree; each command group registers itself.</summary>
public static class CliApplication
{
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("mobilenet: label image datasets in bulk with MobileNet on Orleans.");
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var root = BuildRootCommand();
        return await root.Parse(args).InvokeAsync();
    }
}
