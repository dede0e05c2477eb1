using MobileNet.Orleans.ScaleBench;

return await ControlPlaneBench.RunAsync(args, Console.Out, Console.Error);
