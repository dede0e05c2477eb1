using System.Text.Json;
using System.Xml.Linq;

namespace MobileNet.Orleans.Deploy.Tests;

/// <summary>Silos only run models: the model tooling (src/MobileNet.Modeling, OnnxSharp) must not ship with them.</summary>
public sealed class SiloDependenciesTests
{
    [Fact]
    public void SiloProjectClosure_ReferencesNoModelTooling()
    {
        var projects = ProjectClosure(Path.Combine(RepositoryPaths.Root, "src", "Silo", "MobileNet.Orleans.Silo.csproj"));

        Assert.Contains(projects, p => p.EndsWith("MobileNet.Inference.csproj", StringComparison.Ordinal));
        Assert.DoesNotContain(projects, p => p.EndsWith("MobileNet.Modeling.csproj", StringComparison.Ordinal));
        var packages = projects.SelectMany(p => XDocument.Load(p).Descendants("PackageReference"))
            .Select(r => (string?)r.Attribute("Include")).ToList();
        Assert.DoesNotContain("OnnxSharp", packages);
    }

    [Fact]
    public void SiloDepsJson_ListsNoModelingAssembly()
    {
        // The build's dependency manifest, which `dotnet publish` copies from, beside this test (the silo is referenced).
        var deps = Path.Combine(AppContext.BaseDirectory, "mobilenet-silo.deps.json");
        using var json = JsonDocument.Parse(File.ReadAllText(deps));

        var libraries = json.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();

        Assert.Contains(libraries, l => l.StartsWith("MobileNet.Inference/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("MobileNet.Modeling/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("OnnxSharp/", StringComparison.Ordinal));
    }

    private static List<string> ProjectClosure(string root)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([Path.GetFullPath(root)]);
        while (pending.TryPop(out var project))
        {
            if (seen.Contains(project))
            {
                continue;
            }

            seen.Add(project);
            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                var include = ((string?)reference.Attribute("Include") ?? "").Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include)));
            }
        }

        return seen;
    }
}
