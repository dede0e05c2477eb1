using MobileNet.Orleans.ScaleBench;

return await ControlPlaneBench.RunAsync(args);
