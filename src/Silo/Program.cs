using MobileNet.Orleans.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMobileNetSilo();
var app = builder.Build();
await app.RunAsync();
