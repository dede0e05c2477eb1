using System.CommandLine;

namespace MobileNet.Orleans.Client;

/// <summary>Builds the <c>mobilenet</c> command tree and maps outcomes to exit codes.</summary>
public static class CliApplication
{
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("mobilenet: label image datasets in bulk with MobileNet, locally or on an Orleans cluster.");
        // Each command group lives in Commands/ and adds itself here.
        root.Subcommands.Add(Commands.UploadCommand.Create());
        root.Subcommands.Add(Commands.ModelsCommand.Create());
        root.Subcommands.Add(Commands.ClassifyCommand.Create());
        root.Subcommands.Add(Commands.SubmitCommand.Create());
        root.Subcommands.Add(Commands.JobCommands.CreateStatus());
        root.Subcommands.Add(Commands.JobCommands.CreateWatch());
        root.Subcommands.Add(Commands.JobCommands.CreateJobs());
        root.Subcommands.Add(Commands.ResultsCommand.Create());
        root.Subcommands.Add(Commands.JobCommands.CreateCancel());
        root.Subcommands.Add(Commands.EstimateCommand.Create());
        root.Subcommands.Add(Commands.FindCommand.Create());
        root.Subcommands.Add(Commands.RetryCommand.Create());
        root.Subcommands.Add(Commands.BenchCommand.Create());
        root.Subcommands.Add(Commands.SamplesCommand.Create());
        root.Subcommands.Add(Commands.CertsCommand.Create());
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var root = BuildRootCommand();
        var parse = root.Parse(args);
        var error = stderr ?? Console.Error;
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"error: {e.Message}");
            }

            await error.WriteLineAsync("Run 'mobilenet --help' for usage.");
            return ExitCodes.BadInput;
        }

        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (stdout is not null)
        {
            config.Output = stdout;
        }

        if (stderr is not null)
        {
            config.Error = stderr;
        }

        try
        {
            return await parse.InvokeAsync(config);
        }
        catch (CliUsageException ex)
        {
            await error.WriteLineAsync($"error: {Storage.SecretRedaction.Redact(ex.Message)}");
            return ExitCodes.BadInput;
        }
        catch (UnauthorizedAccessException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.NotAllowed;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled");
            return ExitCodes.RuntimeFailure;
        }
#pragma warning disable CA1031 // The CLI's last line of defence: report, never crash with a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync($"error: {Storage.SecretRedaction.Redact(ex.Message)}");
            return ExitCodes.RuntimeFailure;
        }
    }
}
