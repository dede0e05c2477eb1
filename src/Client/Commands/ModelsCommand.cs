using System.CommandLine;

namespace MobileNet.Orleans.Client.Commands;

/// <summary><c>mobilenet models ...</c>: build, inspect, upload and list models. Each subcommand adds itself here.</summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var models = new Command("models", "Manage MobileNet models (local files and the cluster's model store).");
        models.Subcommands.Add(ModelsBuildCommand.Create());
        models.Subcommands.Add(ModelsInspectCommand.Create());
        models.Subcommands.Add(ModelsUploadCommand.Create());
        models.Subcommands.Add(ModelsListCommand.Create());
        return models;
    }
}
