using MobileNet.Orleans.Dashboard.Hosting;
using MobileNet.Orleans.Silo.Hosting;

// appsettings.json sits beside the dll; silos are started from the repository root (scripts/cluster.sh).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddMobileNetSilo();
var app = builder.Build();
app.MapSiloHealthEndpoints().MapSiloMetricsEndpoint().MapMobileNetDashboard();
await app.RunAsync();
