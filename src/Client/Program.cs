using MobileNet.Orleans.Client;

return await CliApplication.RunAsync(args);
